import FreshetStorage
import XCTest

final class FaultInjectionTests: XCTestCase {
    func testFailNthPutLeavesNothingWritten() async throws {
        let base = MemoryBackend()
        let faulty = FaultInjectingBackend(wrapping: base)
        faulty.inject(.fail, on: .put, afterCalls: 1)
        try await faulty.put("a", [1])
        do {
            try await faulty.put("b", [2])
            XCTFail("second put should have failed")
        } catch let error as StorageError {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.isRetryable)
        }
        let b = try await base.get("b")
        XCTAssertNil(b)
        try await faulty.put("c", [3])
        XCTAssertEqual(faulty.injectedCount, 1)
    }

    func testLostResponseStillWrites() async throws {
        let base = MemoryBackend()
        let faulty = FaultInjectingBackend(wrapping: base)
        faulty.inject(.loseResponse, on: .put)
        do {
            try await faulty.put("a", [1], condition: .ifAbsent)
            XCTFail("the response should have been lost")
        } catch let error as StorageError {
            XCTAssertEqual(error.code, .ambiguousOutcome)
        }
        let a = try await base.get("a")
        XCTAssertEqual(a?.body, [1], "a lost response must still have written the object")
    }

    func testRandomFaultsAreDeterministicPerSeed() async throws {
        func run(seed: UInt64) async -> [Bool] {
            let faulty = FaultInjectingBackend(wrapping: MemoryBackend(), seed: seed)
            faulty.injectRandomly(.fail, on: .get, probability: 0.3)
            var outcomes: [Bool] = []
            for _ in 0..<50 {
                do {
                    _ = try await faulty.get("x")
                    outcomes.append(true)
                } catch {
                    outcomes.append(false)
                }
            }
            return outcomes
        }
        let first = await run(seed: 7)
        let second = await run(seed: 7)
        XCTAssertEqual(first, second)
        let failures = first.filter { !$0 }.count
        XCTAssertTrue((5...25).contains(failures), "\(failures) of 50 failed at p=0.3")
    }
}
