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

    /// The distance between `a` and `b`; `bNorm` is b's L2 norm when precomputed.
    @inline(__always)
    public func distance(_ a: [Float], _ b: [Float]) -> Float {
        switch self {
        case .euclideanSquared:
            return Distances.euclideanSquared(a, b)
        case .cosineDistance:
            let (dot, normA, normB) = Distances.dotAndNorms(a, b)
            let denominator = (normA * normB).squareRoot()
            return denominator > 0 ? 1 - dot / denominator : 1
        }
    }
}

/// Portable distance loops. The SIMD kernels with runtime dispatch replace these in
/// the index; these stay as the exact path and the reference the kernels are tested against.
public enum Distances {
    @inline(__always)
    public static func euclideanSquared(_ a: [Float], _ b: [Float]) -> Float {
        let count = min(a.count, b.count)
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                var index = 0
                while index + 4 <= count {
                    let d0 = x[index] - y[index], d1 = x[index + 1] - y[index + 1]
                    let d2 = x[index + 2] - y[index + 2], d3 = x[index + 3] - y[index + 3]
                    s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
                    index += 4
                }
                while index < count {
                    let d = x[index] - y[index]
                    s0 += d * d
                    index += 1
                }
                return (s0 + s1) + (s2 + s3)
            }
        }
    }

    @inline(__always)
    public static func dotAndNorms(_ a: [Float], _ b: [Float]) -> (Float, Float, Float) {
        let count = min(a.count, b.count)
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var dot: Float = 0, na: Float = 0, nb: Float = 0
                var dot2: Float = 0, na2: Float = 0, nb2: Float = 0
                var index = 0
                while index + 2 <= count {
                    dot += x[index] * y[index]; na += x[index] * x[index]; nb += y[index] * y[index]
                    dot2 += x[index + 1] * y[index + 1]; na2 += x[index + 1] * x[index + 1]; nb2 += y[index + 1] * y[index + 1]
                    index += 2
                }
                if index < count {
                    dot += x[index] * y[index]; na += x[index] * x[index]; nb += y[index] * y[index]
                }
                return (dot + dot2, na + na2, nb + nb2)
            }
        }
    }
}
