import Foundation

/// Ray-casts a layout into every per-pixel modality.
///
/// Pinhole camera at the origin looking along `+z` (vertical field of view 50°, square pixels),
/// ground plane `y = -1` up to z-depth ``groundFar``, sky beyond. One directional light,
/// Lambertian shading with ambient term, no cast shadows. Each pixel casts one ray through its
/// centre, so every map is exact for that ray (no anti-aliasing).
struct Raster {
    static let tanHalfFOV = tan(25.0 * Double.pi / 180)
    static let groundY = -1.0
    static let groundFar = 20.0
    static let ambient = 0.25
    static let light: SIMD3<Double> = {
        let l = SIMD3<Double>(-0.5, 1.0, -0.6)
        return l / (l * l).sum().squareRoot()
    }()
    static let groundAlbedo = SIMD3<Double>(150, 150, 150)
    static let skyColor: [UInt8] = [200, 215, 235]

    let width: Int
    let height: Int
    var rgb: [UInt8]
    var depth: [Float]
    var normals: [Float]
    var semseg: [UInt8]
    var instances: [Int8]
    var edges: [UInt8]
    var visibleCounts: [Int]

    init(width: Int, height: Int, objects: [Placed]) {
        self.width = width
        self.height = height
        let count = width * height
        rgb = [UInt8](repeating: 0, count: count * 3)
        depth = [Float](repeating: .infinity, count: count)
        normals = [Float](repeating: 0, count: count * 3)
        semseg = [UInt8](repeating: 0, count: count)
        instances = [Int8](repeating: -1, count: count)
        edges = [UInt8](repeating: 0, count: count)
        visibleCounts = [Int](repeating: 0, count: objects.count)
        let aspect = Double(width) / Double(height)
        for py in 0..<height {
            for px in 0..<width {
                let u = ((Double(px) + 0.5) / Double(width) * 2 - 1) * Self.tanHalfFOV * aspect
                let v = (1 - (Double(py) + 0.5) / Double(height) * 2) * Self.tanHalfFOV
                let direction = SIMD3<Double>(u, v, 1)
                let p = py * width + px
                var best: (t: Double, normal: SIMD3<Double>, id: Int)? = nil
                if direction.y < 0 {
                    let t = Self.groundY / direction.y
                    if t * direction.z <= Self.groundFar { best = (t, SIMD3(0, 1, 0), 0) }
                }
                for (k, object) in objects.enumerated() {
                    if let hit = Self.intersect(object, direction), hit.t < (best?.t ?? .infinity) {
                        best = (hit.t, hit.normal, k + 1)
                    }
                }
                guard let hit = best else {
                    for c in 0..<3 { rgb[p * 3 + c] = Self.skyColor[c] }
                    continue
                }
                var normal = hit.normal / (hit.normal * hit.normal).sum().squareRoot()
                if (normal * direction).sum() > 0 { normal = -normal }
                depth[p] = Float(hit.t * direction.z)
                for c in 0..<3 { normals[p * 3 + c] = Float(normal[c]) }
                instances[p] = Int8(hit.id)
                let albedo: SIMD3<Double>
                if hit.id == 0 {
                    albedo = Self.groundAlbedo
                } else {
                    let object = objects[hit.id - 1]
                    visibleCounts[hit.id - 1] += 1
                    semseg[p] = UInt8(object.shape.classIndex)
                    let c = object.color.color
                    albedo = SIMD3(Double(c.red), Double(c.green), Double(c.blue))
                }
                let shade = Self.ambient + (1 - Self.ambient) * max(0, (normal * Self.light).sum())
                for c in 0..<3 { rgb[p * 3 + c] = UInt8(min(255, max(0, (albedo[c] * shade).rounded()))) }
            }
        }
        for y in 0..<height {
            for x in 0..<width {
                let id = instances[y * width + x]
                let neighbours = [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                for (nx, ny) in neighbours where nx >= 0 && nx < width && ny >= 0 && ny < height {
                    if instances[ny * width + nx] != id { edges[y * width + x] = 1; break }
                }
            }
        }
    }

    /// The nearest hit (ray parameter `t`, unnormalised outward normal) of a camera ray
    /// from the origin along `d` with one object.
    static func intersect(_ object: Placed, _ d: SIMD3<Double>) -> (t: Double, normal: SIMD3<Double>)? {
        let r = object.radius
        let eps = 1e-9
        switch object.shape {
        case .sphere:
            let center = SIMD3<Double>(object.x, groundY + r, object.z)
            // |t d - c|² = r²  →  a t² - 2 b t + c = 0
            let a = (d * d).sum(), b = (d * center).sum(), c = (center * center).sum() - r * r
            let disc = b * b - a * c
            guard disc >= 0 else { return nil }
            let t = (b - disc.squareRoot()) / a
            guard t > eps else { return nil }
            return (t, d * t - center)
        case .cube:
            let lo = SIMD3<Double>(object.x - r, groundY, object.z - r)
            let hi = SIMD3<Double>(object.x + r, groundY + 2 * r, object.z + r)
            var tNear = -Double.infinity, tFar = Double.infinity, axis = 0
            for i in 0..<3 {
                if abs(d[i]) < 1e-15 {
                    if 0 < lo[i] || 0 > hi[i] { return nil }
                    continue
                }
                let t0 = min(lo[i] / d[i], hi[i] / d[i]), t1 = max(lo[i] / d[i], hi[i] / d[i])
                if t0 > tNear { tNear = t0; axis = i }
                tFar = min(tFar, t1)
            }
            guard tNear <= tFar, tNear > eps else { return nil }
            var normal = SIMD3<Double>(0, 0, 0)
            normal[axis] = d[axis] > 0 ? -1 : 1
            return (tNear, normal)
        case .cylinder, .cone:
            return intersectUpright(object, d)
        }
    }

    /// Cylinder (side + caps) or cone (side + base) with a vertical axis, height `2r`.
    static func intersectUpright(_ object: Placed, _ d: SIMD3<Double>) -> (t: Double, normal: SIMD3<Double>)? {
        let r = object.radius, y0 = groundY, y1 = groundY + 2 * r
        let ox = -object.x, oz = -object.z  // ray origin relative to the axis
        var best: (t: Double, normal: SIMD3<Double>)? = nil
        func consider(_ t: Double, _ normal: SIMD3<Double>) {
            if t > 1e-9, t < (best?.t ?? .infinity) { best = (t, normal) }
        }
        // Side surface: a t² + b t + c = 0.
        let isCone = object.shape == .cone
        let k = isCone ? (r / (y1 - y0)) * (r / (y1 - y0)) : 0
        let oy = y1 - 0, dy = -d.y  // cone: distance below the apex grows with t like oy + t·dy
        let a = d.x * d.x + d.z * d.z - k * dy * dy
        let b = 2 * (ox * d.x + oz * d.z - k * oy * dy)
        let c = ox * ox + oz * oz - (isCone ? k * oy * oy : r * r)
        var roots: [Double] = []
        if abs(a) > 1e-15 {
            let disc = b * b - 4 * a * c
            if disc >= 0 {
                let s = disc.squareRoot()
                roots = [(-b - s) / (2 * a), (-b + s) / (2 * a)]
            }
        } else if abs(b) > 1e-15 {
            roots = [-c / b]
        }
        for t in roots {
            let p = d * t
            guard p.y >= y0, p.y <= y1 else { continue }
            let lx = p.x - object.x, lz = p.z - object.z
            consider(t, SIMD3(lx, isCone ? k * (y1 - p.y) : 0, lz))
        }
        // Caps: the bottom disc for both, the top disc for the cylinder.
        let caps: [(y: Double, ny: Double)] = isCone ? [(y0, -1)] : [(y0, -1), (y1, 1)]
        for cap in caps where abs(d.y) > 1e-15 {
            let t = cap.y / d.y
            let p = d * t
            let lx = p.x - object.x, lz = p.z - object.z
            if lx * lx + lz * lz <= r * r { consider(t, SIMD3(0, cap.ny, 0)) }
        }
        return best
    }
}
