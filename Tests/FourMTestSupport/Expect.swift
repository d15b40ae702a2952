import FourMTensor
import Testing

/// Checks `|actual - expected| <= atol + rtol·|expected|` element-wise and reports the shape,
/// the worst element and the first failing index.
public func expectClose(
    _ actual: Tensor<Float>, _ expected: Tensor<Float>, atol: Float, rtol: Float = 0,
    _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape) != expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    expectClose(actual.scalars, expected.scalars, atol: atol, rtol: rtol, label, sourceLocation: sourceLocation)
}

/// Array form of ``expectClose(_:_:atol:rtol:_:sourceLocation:)``.
public func expectClose(
    _ actual: [Float], _ expected: [Float], atol: Float, rtol: Float = 0,
    _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) values != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst: Float = 0
    var firstBad: Int? = nil
    var bad = 0
    for i in 0..<actual.count {
        let diff = abs(actual[i] - expected[i])
        let ok = diff <= atol + rtol * abs(expected[i]) && !actual[i].isNaN
        if !ok {
            bad += 1
            if firstBad == nil { firstBad = i }
        }
        if diff > worst || diff.isNaN { worst = diff }
    }
    if let firstBad {
        Issue.record(
            "\(label): \(bad)/\(actual.count) values off; max |diff| \(worst); first at \(firstBad): got \(actual[firstBad]), expected \(expected[firstBad]) (atol \(atol), rtol \(rtol))",
            sourceLocation: sourceLocation)
    }
}
