/// How vector distance is measured. Smaller is closer for both.
public enum DistanceMetric: String, Sendable, CaseIterable {
    /// 1 − cosine similarity, in [0, 2].
    case cosineDistance = "cosine_distance"
    /// Squared Euclidean distance.
    case euclideanSquared = "euclidean_squared"

    public static func parse(_ json: JSONValue, field: String) throws -> DistanceMetric {
        guard let text = json.stringValue, let metric = DistanceMetric(rawValue: text) else {
            throw EngineError.invalid("\(field) must be \"cosine_distance\" or \"euclidean_squared\", got \(JSONWriter.string(json))")
        }
        return metric
    }

    /// The distance between `a` and `b`.
    @inline(__always)
    public func distance(_ a: [Float], _ b: [Float]) -> Float {
        distance(query: a, querySquaredNorm: Distances.squaredNorm(a), b)
    }

    /// The distance from a query whose squared norm is precomputed (the hot loop).
    @inline(__always)
    public func distance(query: [Float], querySquaredNorm: Float, _ b: [Float]) -> Float {
        switch self {
        case .euclideanSquared:
            return Distances.euclideanSquared(query, b)
        case .cosineDistance:
            let (dot, norm) = Distances.dotAndSquaredNorm(query, b)
            let denominator = (querySquaredNorm * norm).squareRoot()
            return denominator > 0 ? 1 - dot / denominator : 1
        }
    }
}

/// Portable distance loops on 8-wide SIMD vectors (the compiler lowers them to SSE/AVX
/// without machine-specific flags). The C kernels with runtime dispatch replace these
/// in the index; these stay as the exact path and the reference for kernel tests.
public enum Distances {
    @inline(__always)
    public static func euclideanSquared(_ a: [Float], _ b: [Float]) -> Float {
        let count = min(a.count, b.count)
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
                var index = 0
                let xr = UnsafeRawPointer(x.baseAddress!), yr = UnsafeRawPointer(y.baseAddress!)
                while index + 16 <= count {
                    let d0 = xr.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self) - yr.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                    let d1 = xr.loadUnaligned(fromByteOffset: (index + 8) * 4, as: SIMD8<Float>.self) - yr.loadUnaligned(fromByteOffset: (index + 8) * 4, as: SIMD8<Float>.self)
                    acc0 += d0 * d0
                    acc1 += d1 * d1
                    index += 16
                }
                var sum = (acc0 + acc1).sum()
                while index < count {
                    let d = x[index] - y[index]
                    sum += d * d
                    index += 1
                }
                return sum
            }
        }
    }

    /// The dot product of a and b, and b's squared norm, in one pass.
    @inline(__always)
    public static func dotAndSquaredNorm(_ a: [Float], _ b: [Float]) -> (dot: Float, norm: Float) {
        let count = min(a.count, b.count)
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var dot0 = SIMD8<Float>(), dot1 = SIMD8<Float>(), norm0 = SIMD8<Float>(), norm1 = SIMD8<Float>()
                var index = 0
                let xr = UnsafeRawPointer(x.baseAddress!), yr = UnsafeRawPointer(y.baseAddress!)
                while index + 16 <= count {
                    let x0 = xr.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                    let y0 = yr.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                    let x1 = xr.loadUnaligned(fromByteOffset: (index + 8) * 4, as: SIMD8<Float>.self)
                    let y1 = yr.loadUnaligned(fromByteOffset: (index + 8) * 4, as: SIMD8<Float>.self)
                    dot0 += x0 * y0
                    dot1 += x1 * y1
                    norm0 += y0 * y0
                    norm1 += y1 * y1
                    index += 16
                }
                var dot = (dot0 + dot1).sum(), norm = (norm0 + norm1).sum()
                while index < count {
                    dot += x[index] * y[index]
                    norm += y[index] * y[index]
                    index += 1
                }
                return (dot, norm)
            }
        }
    }

    public static func squaredNorm(_ a: [Float]) -> Float {
        dotAndSquaredNorm(a, a).norm
    }
}
