import FreshetEngine
import FreshetStorage
import HTTPTypes
import Hummingbird
import NIOCore

/// An error as the API reports it: a status and `{"status":"error","error":message}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// Maps any error to the status a client should see. Only this target knows HTTP.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as EngineError:
            switch error.code {
            case .invalidRequest: return APIError(.badRequest, error.message)
            case .malformedRequest: return APIError(.unprocessableContent, error.message)
            case .namespaceNotFound: return APIError(.notFound, error.message)
            case .conflict: return APIError(.conflict, error.message)
            case .payloadTooLarge: return APIError(.contentTooLarge, error.message)
            case .unavailable, .shuttingDown:
                var api = APIError(.serviceUnavailable, error.message)
                api.headers[.retryAfter] = "1"
                return api
            case .timeout: return APIError(.gatewayTimeout, error.message)
            case .indexBuilding: return APIError(.accepted, error.message)
            default: return APIError(.internalServerError, "internal error: \(error.message)")
            }
        case let error as JSONParseError:
            return APIError(.unprocessableContent, "request body is not valid JSON: \(error)")
        case let error as StorageError where error.code == .corrupt:
            return APIError(.internalServerError, "stored data is damaged: \(error.message)")
        case let error as StorageError:
            var api = APIError(.serviceUnavailable, "storage unavailable: \(error.message)")
            api.headers[.retryAfter] = "1"
            return api
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "request body exceeds the server's limit; split the write into smaller batches")
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return APIError(.contentTooLarge, "request body exceeds the server's limit; split the write into smaller batches")
            case .notFound: return APIError(.notFound, error.body ?? "no such endpoint; see the API reference for paths")
            case .methodNotAllowed: return APIError(.methodNotAllowed, error.body ?? "method not allowed on this path")
            default: return APIError(error.status, error.body ?? error.status.reasonPhrase)
            }
        default:
            return APIError(.internalServerError, "internal error: \(error)")
        }
    }

    public var response: Response {
        var writer = JSONWriter()
        writer.write(.object(["status": .string("error"), "error": .string(message)]))
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
