import Hummingbird

/// The per-request context: Hummingbird's core plus what Freshet's middleware adds.
/// Later layers (auth principal, tenant, trace span) add fields here.
public struct FreshetRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's correlation id (from `x-request-id`, or generated).
    public var requestID = ""
    /// The API key that authenticated the request, when keys are configured.
    public var apiKey: String?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
