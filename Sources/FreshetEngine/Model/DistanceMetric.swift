import FreshetIndex

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

    /// The distance between `a` and `b` (same dimension, checked by the caller).
    @inline(__always)
    public func distance(_ a: [Float], _ b: [Float]) -> Float {
        distance(query: a, querySquaredNorm: Self.squaredNorm(a), b)
    }

    /// The distance from a query whose squared norm is precomputed (the hot loop),
    /// through the SIMD kernels at the best level this CPU runs.
    @inline(__always)
    public func distance(query: [Float], querySquaredNorm: Float, _ b: [Float]) -> Float {
        switch self {
        case .euclideanSquared:
            return Kernels.best.l2SquaredUnchecked(query, b)
        case .cosineDistance:
            return Kernels.best.cosineDistanceUnchecked(query: query, querySquaredNorm: querySquaredNorm, b)
        }
    }

    public static func squaredNorm(_ vector: [Float]) -> Float {
        Kernels.best.dotAndNormUnchecked(vector, vector).norm
    }
}

