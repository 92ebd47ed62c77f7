import CFreshetKernels

/// A SIMD level of the distance kernels.
public enum KernelLevel: Int, CaseIterable, Sendable, CustomStringConvertible {
    case scalar = 0, avx2 = 1, avx512 = 2

    /// The best level this CPU runs, chosen once at run time.
    public static let best = KernelLevel(rawValue: Int(freshet_best_isa().rawValue))!

    /// Whether this CPU can run the level.
    public var isSupported: Bool { freshet_isa_supported(isa) != 0 }

    /// Every level this CPU can run (tests compare all of them with a reference).
    public static var supported: [KernelLevel] { allCases.filter(\.isSupported) }

    @usableFromInline var isa: freshet_isa { freshet_isa(rawValue: UInt32(rawValue)) }

    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .avx2: return "avx2+fma"
        case .avx512: return "avx512"
        }
    }
}

/// A mismatch between two vectors handed to a kernel.
public struct KernelError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Distance kernels at one SIMD level: safe wrappers over the C kernels.
///
/// A value type with no mutable state, so one instance may be used from any number of
/// threads. Every entry point checks that the dimensions agree before touching memory;
/// the `unchecked` variants are for inner loops whose callers checked once.
public struct Kernels: Sendable {
    public let level: KernelLevel

    /// The kernels at `level`, or at the best supported level below it.
    public init(level: KernelLevel = .best) {
        self.level = level.isSupported ? level : .best
    }

    public static let best = Kernels()

    @inline(__always)
    func check(_ a: Int, _ b: Int) throws {
        if a != b { throw KernelError(description: "vector dimensions differ: \(a) vs \(b)") }
    }

    /// Squared Euclidean distance.
    public func l2Squared(_ a: [Float], _ b: [Float]) throws -> Float {
        try check(a.count, b.count)
        return l2SquaredUnchecked(a, b)
    }

    @inline(__always)
    public func l2SquaredUnchecked(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            freshet_l2sq_f32(level.isa, x.baseAddress, y.baseAddress, min(x.count, y.count))
        } }
    }

    /// Squared L2 over raw pointers, for loops over packed rows.
    @inline(__always)
    public func l2SquaredRaw(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        freshet_l2sq_f32(level.isa, a, b, count)
    }

    /// Inner product.
    public func dot(_ a: [Float], _ b: [Float]) throws -> Float {
        try check(a.count, b.count)
        return dotAndNormUnchecked(a, b).dot
    }

    /// Inner product of `a` and `b` and the squared norm of `b`, in one pass.
    public func dotAndNorm(_ a: [Float], _ b: [Float]) throws -> (dot: Float, norm: Float) {
        try check(a.count, b.count)
        return dotAndNormUnchecked(a, b)
    }

    @inline(__always)
    public func dotAndNormUnchecked(_ a: [Float], _ b: [Float]) -> (dot: Float, norm: Float) {
        var dot: Float = 0, norm: Float = 0
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            freshet_dot_norm_f32(level.isa, x.baseAddress, y.baseAddress, min(x.count, y.count), &dot, &norm)
        } }
        return (dot, norm)
    }

    /// Cosine distance 1 − cos(a, b); 1 when either vector is zero (no direction).
    public func cosineDistance(_ a: [Float], _ b: [Float]) throws -> Float {
        try check(a.count, b.count)
        return cosineDistanceUnchecked(query: a, querySquaredNorm: dotAndNormUnchecked(a, a).norm, b)
    }

    @inline(__always)
    public func cosineDistanceUnchecked(query: [Float], querySquaredNorm: Float, _ b: [Float]) -> Float {
        let (dot, norm) = dotAndNormUnchecked(query, b)
        let denominator = (querySquaredNorm * norm).squareRoot()
        return denominator > 0 ? 1 - dot / denominator : 1
    }

    /// Squared distance from an f32 query to half-precision storage (IEEE binary16 bits).
    public func l2Squared(_ a: [Float], halves b: [UInt16]) throws -> Float {
        try check(a.count, b.count)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            freshet_l2sq_f32_f16(level.isa, x.baseAddress, y.baseAddress, x.count)
        } }
    }

    /// Squared distance between two half-precision vectors.
    public func l2Squared(halves a: [UInt16], halves b: [UInt16]) throws -> Float {
        try check(a.count, b.count)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            freshet_l2sq_f16_f16(level.isa, x.baseAddress, y.baseAddress, x.count)
        } }
    }

    /// Inner product and squared norm against half-precision storage.
    public func dotAndNorm(_ a: [Float], halves b: [UInt16]) throws -> (dot: Float, norm: Float) {
        try check(a.count, b.count)
        var dot: Float = 0, norm: Float = 0
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            freshet_dot_norm_f32_f16(level.isa, x.baseAddress, y.baseAddress, x.count, &dot, &norm)
        } }
        return (dot, norm)
    }

    /// Exact inner product of int8 vectors.
    public func dot(_ a: [Int8], _ b: [Int8]) throws -> Int64 {
        try check(a.count, b.count)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in freshet_dot_i8(level.isa, x.baseAddress, y.baseAddress, x.count) } }
    }

    /// Exact squared distance of int8 vectors.
    public func l2Squared(_ a: [Int8], _ b: [Int8]) throws -> Int64 {
        try check(a.count, b.count)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in freshet_l2sq_i8(level.isa, x.baseAddress, y.baseAddress, x.count) } }
    }

    /// Squared distances from `query` to every row of a row-major matrix of `dimensions` columns.
    public func l2Squared(_ query: [Float], rows: [Float], dimensions: Int) throws -> [Float] {
        try batch(query, rows: rows, dimensions: dimensions, what: "floats", freshet_l2sq_f32_batch)
    }

    /// `l2Squared(_:rows:dimensions:)` over half-precision rows; each distance equals
    /// `l2Squared(_:halves:)` of its row to the bit.
    public func l2Squared(_ query: [Float], halfRows rows: [UInt16], dimensions: Int) throws -> [Float] {
        try batch(query, rows: rows, dimensions: dimensions, what: "halves", freshet_l2sq_f32_f16_batch)
    }

    /// Squared distances from `query` to scaled int8 rows: row r stands for
    /// `scales[r] × codes[r]` (see `freshet_l2sq_f32_i8s_batch`).
    public func l2Squared(_ query: [Float], codes: [Int8], scales: [Float], dimensions: Int) throws -> [Float] {
        guard scales.count * dimensions == codes.count else {
            throw KernelError(description: "\(codes.count) codes are not \(scales.count) rows of \(dimensions) dimensions")
        }
        return try scales.withUnsafeBufferPointer { scales in
            try batch(query, rows: codes, dimensions: dimensions, what: "codes") { isa, q, rows, count, dimensions, out in
                freshet_l2sq_f32_i8s_batch(isa, q, rows, scales.baseAddress, count, dimensions, out)
            }
        }
    }

    /// Runs a batch kernel over whole rows after checking the shapes.
    private func batch<Element>(
        _ query: [Float], rows: [Element], dimensions: Int, what: String,
        _ kernel: (freshet_isa, UnsafePointer<Float>?, UnsafePointer<Element>?, Int, Int, UnsafeMutablePointer<Float>?) -> Void
    ) throws -> [Float] {
        try check(query.count, dimensions)
        guard dimensions > 0, rows.count % dimensions == 0 else {
            throw KernelError(description: "a matrix of \(rows.count) \(what) is not a whole number of \(dimensions)-d rows")
        }
        let count = rows.count / dimensions
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            query.withUnsafeBufferPointer { q in rows.withUnsafeBufferPointer { base in
                kernel(level.isa, q.baseAddress, base.baseAddress, count, dimensions, out.baseAddress)
            } }
            initialized = count
        }
    }

    /// IEEE half-precision conversions (round to nearest even).
    public static func half(_ value: Float) -> UInt16 { freshet_f32_to_f16(value) }
    public static func float(half bits: UInt16) -> Float { freshet_f16_to_f32(bits) }
}
