import Crypto
import HTTPTypes
import Hummingbird

/// Checks `Authorization: Bearer <key>` against the configured keys. With no keys
/// configured every request passes (open mode, which `ServerConfiguration.validate`
/// allows only on loopback). Health endpoints never need a key.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = FreshetRequestContext
    /// SHA-256 digests of the keys, so comparison time does not depend on key contents.
    let keyDigests: [SHA256.Digest]

    init(apiKeys: [String]) {
        keyDigests = apiKeys.map { SHA256.hash(data: Array($0.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if keyDigests.isEmpty || request.uri.path == "/healthz" || request.uri.path == "/readyz" || request.method == .options {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "missing Authorization header; send Authorization: Bearer <api key>")
        }
        guard header.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "the Authorization header must be Bearer <api key>")
        }
        let digest = SHA256.hash(data: Array(header.dropFirst(7).utf8))
        guard keyDigests.contains(where: { $0 == digest }) else {
            throw APIError(.unauthorized, "the API key is not valid for this server")
        }
        var context = context
        context.apiKey = String(header.dropFirst(7))
        return try await next(request, context)
    }
}
