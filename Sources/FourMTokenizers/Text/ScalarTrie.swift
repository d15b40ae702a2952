/// A prefix tree over Unicode scalars with an `Int32` value at terminal nodes.
///
/// Used for the WordPiece vocabulary (greedy longest-prefix search without building a
/// `String` per candidate) and for the added-token patterns (leftmost-longest search).
/// Keys compare scalar for scalar, never by canonical equivalence.
struct ScalarTrie: Sendable {
    /// The root node.
    static let root: Int32 = 0

    /// Edge table: `(node << 21) | scalar` → child node.
    private var edges: [UInt64: Int32] = [:]
    /// Children of the root for ASCII scalars (-1 = none), the most frequent first step.
    private var asciiRootChildren = [Int32](repeating: -1, count: 128)
    /// Value per node, -1 = not terminal.
    private var values: [Int32] = [-1]

    init() {}

    @inline(__always)
    private static func key(_ node: Int32, _ scalar: Unicode.Scalar) -> UInt64 {
        UInt64(UInt32(node)) << 21 | UInt64(scalar.value)
    }

    /// Inserts `key` with `value`; returns the value it replaced, if any.
    @discardableResult
    mutating func insert<S: Sequence>(_ key: S, value: Int32) -> Int32?
    where S.Element == Unicode.Scalar {
        var node = Self.root
        for scalar in key {
            if let next = child(of: node, scalar) {
                node = next
            } else {
                let next = Int32(values.count)
                values.append(-1)
                edges[Self.key(node, scalar)] = next
                if node == Self.root && scalar.value < 128 {
                    asciiRootChildren[Int(scalar.value)] = next
                }
                node = next
            }
        }
        let previous = values[Int(node)]
        values[Int(node)] = value
        return previous >= 0 ? previous : nil
    }

    /// The child of `node` along `scalar`.
    @inline(__always)
    func child(of node: Int32, _ scalar: Unicode.Scalar) -> Int32? {
        if node == Self.root && scalar.value < 128 {
            let next = asciiRootChildren[Int(scalar.value)]
            return next >= 0 ? next : nil
        }
        return edges[Self.key(node, scalar)]
    }

    /// The value stored at `node`.
    @inline(__always)
    func value(at node: Int32) -> Int32? {
        let v = values[Int(node)]
        return v >= 0 ? v : nil
    }

    /// The node reached by following `key` from `node`.
    func node<S: Sequence>(following key: S, from node: Int32 = ScalarTrie.root) -> Int32?
    where S.Element == Unicode.Scalar {
        var current = node
        for scalar in key {
            guard let next = child(of: current, scalar) else { return nil }
            current = next
        }
        return current
    }

    /// The value of exactly `key`.
    func value<S: Sequence>(of key: S) -> Int32? where S.Element == Unicode.Scalar {
        guard let node = node(following: key) else { return nil }
        return value(at: node)
    }

    /// The longest key that, appended to the path of `start`, is a prefix of
    /// `scalars[from..<to]`: returns its value and end index.
    @inline(__always)
    func longestMatch(
        in scalars: [Unicode.Scalar], from: Int, to: Int, start: Int32 = ScalarTrie.root
    )
        -> (value: Int32, end: Int)?
    {
        var node = start
        var best: (value: Int32, end: Int)? = nil
        var i = from
        while i < to, let next = child(of: node, scalars[i]) {
            node = next
            i += 1
            let v = values[Int(node)]
            if v >= 0 { best = (v, i) }
        }
        return best
    }
}
