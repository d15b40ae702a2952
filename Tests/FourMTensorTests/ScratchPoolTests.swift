import Foundation
@testable import FourMTensor
import Testing

/// ``ScratchPool``: buffers are reused, limits kept, and no two borrowers ever share one.
@Suite struct ScratchPoolTests {
    @Test func scratchPoolReusesFreeBuffersAndHonoursItsLimits() {
        let pool = ScratchPool(retainedLimit: 2, retainedByteLimit: 1 << 20)
        var addresses: [Int] = []
        for _ in 0..<5 { addresses.append(pool.withBuffer(byteCount: 4096) { Int(bitPattern: $0) }) }
        #expect(addresses.allSatisfy { $0 % 64 == 0 && $0 == addresses[0] })
        #expect(pool.allocationCount == 1, "a steady borrower allocates once")
        // Nested loans get distinct memory.
        let (distinct, untouched) = pool.withBuffer(of: Float.self, count: 100) { a in
            a.initialize(repeating: 1, count: 100)
            let distinct = pool.withBuffer(of: Float.self, count: 100) { b in
                b.initialize(repeating: 2, count: 100)
                return a != b
            }
            return (distinct, a[99] == 1)
        }
        #expect(distinct && untouched)
        #expect(pool.allocationCount == 2)
        // Three buffers returned: only two kept; a buffer above the byte limit is not kept.
        pool.withBuffer(byteCount: 64) { _ in pool.withBuffer(byteCount: 64) { _ in pool.withBuffer(byteCount: 64) { _ in } } }
        #expect(pool.retainedBytes <= 1 << 20)
        pool.withBuffer(byteCount: 2 << 20) { _ in }
        #expect(pool.retainedBytes <= 1 << 20)
    }

    @Test func scratchPoolGivesConcurrentBorrowersTheirOwnBuffers() async {
        let pool = ScratchPool()
        let clean = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var ok = true
                    for round in 0..<50 {
                        pool.withBuffer(of: Int.self, count: 256 + task) { p in
                            let mark = task * 1000 + round
                            p.initialize(repeating: mark, count: 256 + task)
                            for _ in 0..<10 { _ = (0..<64).reduce(0, +) }
                            ok = ok && (0..<(256 + task)).allSatisfy { p[$0] == mark }
                        }
                    }
                    return ok
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(clean, "a buffer was shared by two borrowers")
    }
}
