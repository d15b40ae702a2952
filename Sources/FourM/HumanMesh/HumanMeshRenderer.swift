import Foundation
import FourMImage
import FourMTokenizers

/// One posed body placed in front of the camera: ``SMPLBody/vertices`` plus the translation
/// ``HumanMeshRenderer/cameraTranslation(camera:boxCenter:boxSize:width:height:focalLength:)``
/// gives it.
public struct HumanMesh: Sendable, Equatable {
    /// The posed vertices `[V]` in the model frame (as smplx returns them).
    public var vertices: [SIMD3<Float>]
    /// The camera-space translation `[tx, ty, tz]` added to every vertex (OpenCV axes: x right,
    /// y down, z forward).
    public var cameraTranslation: SIMD3<Double>

    /// Creates a placed mesh.
    /// - Parameters:
    ///   - vertices: the posed vertices.
    ///   - cameraTranslation: the translation into camera space.
    public init(vertices: [SIMD3<Float>], cameraTranslation: SIMD3<Double>) {
        self.vertices = vertices
        self.cameraTranslation = cameraTranslation
    }
}

/// Draws SMPL meshes over a picture the way the reference demo's `visualize_human_poses` does
/// (hmr2's `cam_crop_to_full` and `Renderer.render_rgba_multiple`): a pinhole camera at the
/// origin with focal length `5000 / 256 · side` and the principal point at the image centre,
/// every mesh in one z-buffer, and the overlay `0.5 · image` outside the meshes and the mesh
/// colour inside.
///
/// The shading is not pyrender's (its point and directional lights are not reproduced): each
/// pixel is Lambertian with one light at the camera, `colour = base · (0.3 + 0.7 · |n · l|)`,
/// with `base` the reference's `LIGHT_BLUE` (0.651, 0.741, 0.859), `n` the interpolated vertex
/// normal and `l` the direction to the camera. Coverage and placement follow the reference:
/// pixel `(x, y)` is covered when its centre `(x + 0.5, y + 0.5)` falls inside a projected
/// triangle.
public enum HumanMeshRenderer {
    /// The mesh colour of the reference (`LIGHT_BLUE`).
    public static let baseColor = SIMD3<Double>(0.65098039, 0.74117647, 0.85882353)
    /// The share of ambient light in the shading.
    public static let ambient = 0.3
    /// Triangles with a vertex nearer than this (pyrender's default `znear`) are not drawn.
    public static let nearPlane = 0.05

    /// The focal length the reference renders with: hmr2's `FOCAL_LENGTH / IMAGE_SIZE · side`
    /// (5000 / 256 · side: 4375 at 224).
    /// - Parameter side: the image side in pixels.
    /// - Returns: the focal length in pixels.
    public static func focalLength(side: Int) -> Double { 5000.0 / 256.0 * Double(side) }

    /// The camera translation of one person, hmr2's `cam_crop_to_full`: with
    /// `b = boxSize · s + 1e-9`, `t = [2(cx − W/2)/b + tx, 2(cy − H/2)/b + ty, 2f/b]`.
    /// - Parameters:
    ///   - camera: the weak-perspective camera `[s, tx, ty]` (`HumanPoseParameters.camera`).
    ///   - boxCenter: the box centre `[cx, cy]` in pixels.
    ///   - boxSize: the box size in pixels.
    ///   - width: the image width.
    ///   - height: the image height.
    ///   - focalLength: the focal length in pixels.
    /// - Returns: the translation `[tx, ty, tz]` (camera space, OpenCV axes).
    public static func cameraTranslation(camera: [Float], boxCenter: [Float], boxSize: Float, width: Int, height: Int, focalLength: Double) -> SIMD3<Double> {
        let s = camera.count > 0 ? Double(camera[0]) : 0, tx = camera.count > 1 ? Double(camera[1]) : 0, ty = camera.count > 2 ? Double(camera[2]) : 0
        let cx = boxCenter.count > 0 ? Double(boxCenter[0]) : 0, cy = boxCenter.count > 1 ? Double(boxCenter[1]) : 0
        let b = Double(boxSize) * s + 1e-9
        return SIMD3(2 * (cx - Double(width) / 2) / b + tx, 2 * (cy - Double(height) / 2) / b + ty, 2 * focalLength / b)
    }

    /// Projects a camera-space point (OpenCV axes) to pixel coordinates:
    /// `(f·X/Z + W/2, f·Y/Z + H/2)`, with pixel `(x, y)` covering `[x, x+1) × [y, y+1)`.
    /// - Parameters:
    ///   - point: the point in camera space.
    ///   - focalLength: the focal length in pixels.
    ///   - width: the image width.
    ///   - height: the image height.
    /// - Returns: the pixel coordinates (top-left origin, y down).
    public static func project(_ point: SIMD3<Double>, focalLength: Double, width: Int, height: Int) -> SIMD2<Double> {
        SIMD2(focalLength * point.x / point.z + Double(width) / 2, focalLength * point.y / point.z + Double(height) / 2)
    }

    /// Renders the meshes into one z-buffer and composites them over `background`.
    /// - Parameters:
    ///   - meshes: the placed bodies.
    ///   - faces: the model's triangles (``SMPLModel/faces``), `[F, 3]` flattened.
    ///   - width: the picture width.
    ///   - height: the picture height.
    ///   - focalLength: the focal length in pixels (``focalLength(side:)``).
    ///   - background: the picture under the meshes, resized to `width × height` when it
    ///     differs; white (the reference's `input_img = 1.`) when nil.
    /// - Returns: the RGB overlay and the coverage mask (`true` where a mesh is drawn).
    /// - Throws: `ImageError.invalidArgument` for a size outside `1…` `Image.maximumPixelCount`
    ///   pixels, `ImageError` from resizing the background.
    public static func render(meshes: [HumanMesh], faces: [Int32], width: Int, height: Int, focalLength: Double, background: Image?) throws(ImageError) -> (image: Image, mask: [Bool]) {
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        guard width >= 1, height >= 1, !overflow, pixelCount <= Image.maximumPixelCount else {
            throw .invalidArgument(argument: "size", expected: "1…\(Image.maximumPixelCount) pixels", actual: "\(width)×\(height)")
        }
        var depth = [Double](repeating: 0, count: pixelCount)  // 1/z of the nearest surface; 0 = empty
        var colour = [SIMD3<Double>](repeating: .zero, count: pixelCount)
        for mesh in meshes {
            let points = mesh.vertices.map { SIMD3<Double>($0) + mesh.cameraTranslation }
            let normals = vertexNormals(points, faces: faces)
            var triangle = 0
            while triangle + 2 < faces.count {
                let ids = (Int(faces[triangle]), Int(faces[triangle + 1]), Int(faces[triangle + 2]))
                triangle += 3
                guard ids.0 < points.count, ids.1 < points.count, ids.2 < points.count else { continue }
                let p = [points[ids.0], points[ids.1], points[ids.2]]
                let n = [normals[ids.0], normals[ids.1], normals[ids.2]]
                guard p.allSatisfy({ $0.z > nearPlane && $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else { continue }
                let q = p.map { project($0, focalLength: focalLength, width: width, height: height) }
                let area = (q[1].x - q[0].x) * (q[2].y - q[0].y) - (q[1].y - q[0].y) * (q[2].x - q[0].x)
                guard area.isFinite, abs(area) > 1e-12 else { continue }
                let xs = q.map(\.x), ys = q.map(\.y)
                guard let minX = xs.min(), let maxX = xs.max(), let minY = ys.min(), let maxY = ys.max() else { continue }
                // Pixels whose centres can be inside, clamped before any conversion to Int.
                let x0 = Int(max(0, min(Double(width), (minX - 0.5).rounded(.up))))
                let x1 = Int(max(-1, min(Double(width - 1), (maxX - 0.5).rounded(.down))))
                let y0 = Int(max(0, min(Double(height), (minY - 0.5).rounded(.up))))
                let y1 = Int(max(-1, min(Double(height - 1), (maxY - 0.5).rounded(.down))))
                guard x0 <= x1, y0 <= y1 else { continue }
                for y in y0...y1 {
                    let cy = Double(y) + 0.5
                    for x in x0...x1 {
                        let cx = Double(x) + 0.5
                        let w0 = ((q[1].x - cx) * (q[2].y - cy) - (q[1].y - cy) * (q[2].x - cx)) / area
                        let w1 = ((q[2].x - cx) * (q[0].y - cy) - (q[2].y - cy) * (q[0].x - cx)) / area
                        let w2 = 1 - w0 - w1
                        guard w0 >= 0, w1 >= 0, w2 >= 0 else { continue }
                        // 1/z is linear in screen space; perspective-correct weights follow.
                        let inverseDepth = w0 / p[0].z + w1 / p[1].z + w2 / p[2].z
                        let index = y * width + x
                        guard inverseDepth > depth[index] else { continue }
                        depth[index] = inverseDepth
                        let c0 = w0 / p[0].z / inverseDepth, c1 = w1 / p[1].z / inverseDepth, c2 = w2 / p[2].z / inverseDepth
                        let surface = c0 * p[0] + c1 * p[1] + c2 * p[2]
                        var normal = c0 * n[0] + c1 * n[1] + c2 * n[2]
                        let normalLength = (normal * normal).sum().squareRoot()
                        let surfaceLength = (surface * surface).sum().squareRoot()
                        var lambert = 1.0
                        if normalLength > 0, surfaceLength > 0 {
                            normal /= normalLength
                            lambert = abs((normal * surface).sum()) / surfaceLength
                        }
                        colour[index] = baseColor * (ambient + (1 - ambient) * lambert)
                    }
                }
            }
        }
        var under: Image? = nil
        if let background {
            let rgb = background.rgb()
            under = rgb.width == width && rgb.height == height ? rgb : try rgb.resized(width: width, height: height)
        }
        var pixels = [UInt8](repeating: 0, count: pixelCount * 3)
        var mask = [Bool](repeating: false, count: pixelCount)
        for index in 0..<pixelCount {
            if depth[index] > 0 {
                mask[index] = true
                let c = colour[index]
                for k in 0..<3 { pixels[index * 3 + k] = UInt8((min(max(c[k], 0), 1) * 255).rounded()) }
            } else {
                for k in 0..<3 {
                    let value = under.map { Double($0.pixels[index * 3 + k]) } ?? 255
                    pixels[index * 3 + k] = UInt8((0.5 * value).rounded())
                }
            }
        }
        return (try Image(width: width, height: height, channels: 3, pixels: pixels), mask)
    }

    /// Area-weighted vertex normals (zero for vertices no face uses).
    static func vertexNormals(_ points: [SIMD3<Double>], faces: [Int32]) -> [SIMD3<Double>] {
        var normals = [SIMD3<Double>](repeating: .zero, count: points.count)
        var i = 0
        while i + 2 < faces.count {
            let a = Int(faces[i]), b = Int(faces[i + 1]), c = Int(faces[i + 2])
            i += 3
            guard a < points.count, b < points.count, c < points.count else { continue }
            let u = points[b] - points[a], v = points[c] - points[a]
            let cross = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
            guard cross.x.isFinite, cross.y.isFinite, cross.z.isFinite else { continue }
            normals[a] += cross
            normals[b] += cross
            normals[c] += cross
        }
        return normals
    }
}
