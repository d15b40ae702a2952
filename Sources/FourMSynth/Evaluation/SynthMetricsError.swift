/// Why a ``SynthMetrics`` function refused its inputs: arrays whose lengths do not fit
/// together, or an image it cannot read colours from.
///
/// Every case names the function (`metric`) and the argument at fault, with the expected and
/// the actual value; ``description`` is one line for logs and command-line output.
///
/// ```swift
/// do {
///     _ = try SynthMetrics.depthRMSE(predicted: [[0, 0]], target: [[0, 0], [1, 1]])
/// } catch {
///     print(error)   // "depthRMSE: predicted has 1 element, expected 2 (one per target)"
/// }
/// ```
public enum SynthMetricsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An array does not have the length its counterpart requires.
    ///
    /// With `item` nil, `argument` holds `actual` elements where the function needs
    /// `expected`: one per element of its counterpart (`target` for `predicted`, `captions` for
    /// `found`), or one label per image pixel for a segmentation. With `item` set,
    /// `argument[item]` (one scene's map) holds `actual` values where the same scene's
    /// counterpart holds `expected`.
    /// - Parameters:
    ///   - metric: the function that refused the input, such as `"depthRMSE"`.
    ///   - argument: the argument label of the array at fault, such as `"predicted"`.
    ///   - item: the index of the scene whose map is at fault, or nil for the array itself.
    ///   - expected: the length needed.
    ///   - actual: the length given.
    case lengthMismatch(metric: String, argument: String, item: Int?, expected: Int, actual: Int)

    /// A map of vectors holds a number of values that is not a multiple of the components per
    /// pixel (3 for surface normals).
    /// - Parameters:
    ///   - metric: the function that refused the input.
    ///   - argument: the argument label of the array at fault.
    ///   - item: the index of the scene whose map is at fault.
    ///   - factor: the components per pixel the length must be a multiple of.
    ///   - actual: the length given.
    case lengthNotMultiple(metric: String, argument: String, item: Int, factor: Int, actual: Int)

    /// An image has fewer channels than the function reads (3 for RGB; a fourth, alpha, is
    /// ignored).
    /// - Parameters:
    ///   - metric: the function that refused the input.
    ///   - argument: the argument label of the image.
    ///   - expected: the least number of channels needed.
    ///   - actual: the image's channel count.
    case tooFewChannels(metric: String, argument: String, expected: Int, actual: Int)

    /// One line: the function, the argument at fault, and the expected versus the actual value.
    public var description: String {
        switch self {
        case .lengthMismatch(let metric, let argument, nil, let expected, let actual):
            "\(metric): \(argument) has \(Self.count(actual, "element")), expected \(expected)"
                + Self.reason(argument: argument)
        case .lengthMismatch(let metric, let argument, let item?, let expected, let actual):
            "\(metric): \(argument)[\(item)] has \(Self.count(actual, "value")), expected \(expected)"
                + " (as many as the same scene's \(Self.counterpart(of: argument)))"
        case .lengthNotMultiple(let metric, let argument, let item, let factor, let actual):
            "\(metric): \(argument)[\(item)] has \(Self.count(actual, "value")), expected a multiple of \(factor)"
                + " (\(factor) components per pixel)"
        case .tooFewChannels(let metric, let argument, let expected, let actual):
            "\(metric): \(argument) has \(Self.count(actual, "channel")), expected at least \(expected)"
        }
    }

    /// `"1 element"`, `"3 elements"`.
    private static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    /// The array whose length `argument`'s length must match.
    private static func counterpart(of argument: String) -> String {
        switch argument {
        case "predicted": "target"
        case "found": "captions"
        case "segmentation": "image"
        default: "counterpart"
        }
    }

    /// Why the whole array needs the expected length.
    private static func reason(argument: String) -> String {
        argument == "segmentation" ? " (one label per image pixel)" : " (one per \(counterpart(of: argument)))"
    }
}
