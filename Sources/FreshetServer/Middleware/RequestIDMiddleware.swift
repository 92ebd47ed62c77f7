import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
}

/// Accepts a caller's `x-request-id` (or makes one), puts it in every log line of the
/// request and returns it on the response, errors included.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = FreshetRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let supplied = request.headers[.requestID].flatMap { value -> String? in
            let trimmed = value.prefix(128)
            return trimmed.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) && !trimmed.isEmpty ? String(trimmed) : nil
        }
        let id = supplied ?? Self.generate()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = APIError.from(error).response
        }
        response.headers[.requestID] = id
        return response
    }

    static func generate() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}

/// One structured log line per request: method, path, status, duration, bytes.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = FreshetRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var status = HTTPResponse.Status.internalServerError
        defer {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let level: Logger.Level = status.code >= 500 ? .warning : .info
            context.logger.log(level: level, "request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(status.code),
                "duration_ms": .string(String(format: "%.2f", milliseconds)),
            ])
        }
        do {
            let response = try await next(request, context)
            status = response.status
            return response
        } catch {
            let api = APIError.from(error)
            status = api.status
            return api.response
        }
    }
}
