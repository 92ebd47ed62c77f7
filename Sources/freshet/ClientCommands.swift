import ArgumentParser
import Foundation
import FreshetClient
import FreshetEngine

/// Options every client command shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL.") var url = ProcessInfo.processInfo.environment["FRESHET_URL"] ?? "http://127.0.0.1:8080"
    @Option(help: "API key (or FRESHET_API_KEY).") var apiKey: String?

    func client() throws -> FreshetClient {
        guard let base = URL(string: url), base.scheme != nil else { throw ValidationError("--url \(url) is not a URL") }
        return FreshetClient(baseURL: base, apiKey: apiKey ?? ProcessInfo.processInfo.environment["FRESHET_API_KEY"])
    }
}

func printJSON(_ value: JSONValue) {
    print(JSONWriter.string(value))
}

struct Namespaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List namespaces, show one's metadata, or delete one.",
        subcommands: [List.self, Metadata.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        @OptionGroup var server: ServerOptions
        @Option(help: "Only namespaces starting with this prefix.") var prefix = ""
        func run() async throws {
            for name in try await server.client().listNamespaces(prefix: prefix) { print(name) }
        }
    }

    struct Metadata: AsyncParsableCommand {
        @OptionGroup var server: ServerOptions
        @Argument(help: "Namespace.") var namespace: String
        func run() async throws { printJSON(try await server.client().metadata(namespace: namespace)) }
    }

    struct Delete: AsyncParsableCommand {
        @OptionGroup var server: ServerOptions
        @Argument(help: "Namespace.") var namespace: String
        func run() async throws { printJSON(try await server.client().deleteNamespace(namespace)) }
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a query and print the result as JSON.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Namespace.") var namespace: String
    @Option(help: "Vector as comma-separated numbers (ranks by ANN).") var vector: String?
    @Option(help: "Filter as JSON, e.g. '[\"color\",\"Eq\",\"red\"]'.") var filters: String?
    @Option(help: "Rank by an attribute: NAME:asc or NAME:desc.") var orderBy: String?
    @Option(help: "Number of rows.") var topK = 10
    @Flag(help: "Include every attribute.") var all = false
    @Option(help: "A whole query body as JSON; overrides the other options.") var body: String?

    func run() async throws {
        let request: JSONValue
        if let body {
            request = try JSONParser.parse(body)
        } else {
            var object: [String: JSONValue] = ["top_k": .int(Int64(topK)), "include_attributes": .bool(all)]
            if let vector {
                let values = try vector.split(separator: ",").map { part -> JSONValue in
                    guard let number = Double(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--vector: \(part) is not a number") }
                    return .double(number)
                }
                object["rank_by"] = .array([.string("vector"), .string("ANN"), .array(values)])
            } else if let orderBy {
                let parts = orderBy.split(separator: ":")
                guard parts.count == 2 else { throw ValidationError("--order-by takes NAME:asc or NAME:desc") }
                object["rank_by"] = .array([.string(String(parts[0])), .string(String(parts[1]))])
            } else {
                object["rank_by"] = .array([.string("id"), .string("asc")])
            }
            if let filters { object["filters"] = try JSONParser.parse(filters) }
            request = .object(object)
        }
        printJSON(try await server.client().query(namespace: namespace, request))
    }
}
