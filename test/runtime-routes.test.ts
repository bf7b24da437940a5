import { strict as assert } from "node:assert";
import fc from "fast-check";
import { compileRoutes, matchRoute, parsePath, upstreamUrl } from "../runtime/steps/route";
import type { RouteSpec } from "../specs/routes";

const spec = (name: string, pathPrefix: string, upstream = `https://${name}.example.com/base`): RouteSpec => ({ name, pathPrefix, upstream, auth: "none", permissions: [] });

describe("routing", function () {
    const routes = compileRoutes([spec("orders", "/orders"), spec("archive", "/orders/archive"), spec("products", "/products")]);

    it("picks the longest matching prefix", function () {
        const match = matchRoute(routes, "/orders/archive/2024");
        assert.equal(match.kind, "route");
        assert.equal(match.kind === "route" && match.route.name, "archive");
        assert.equal(match.kind === "route" && match.upstreamPath, "/2024");
        const shorter = matchRoute(routes, "/orders/7");
        assert.equal(shorter.kind === "route" && shorter.route.name, "orders");
    });

    it("matches whole segments only", function () {
        assert.equal(matchRoute(routes, "/products-old/1").kind, "not-found");
        assert.equal(matchRoute(routes, "/productsx").kind, "not-found");
    });

    it("answers not-found without a route, and the root prefix catches every path", function () {
        assert.equal(matchRoute(routes, "/nowhere").kind, "not-found");
        const withRoot = compileRoutes([spec("root", "/"), spec("orders", "/orders")]);
        const match = matchRoute(withRoot, "/nowhere/else");
        assert.equal(match.kind === "route" && match.route.name, "root");
        assert.equal(match.kind === "route" && match.upstreamPath, "/nowhere/else");
    });

    it("sends the bare prefix as the upstream base, keeps a trailing slash and collapses empty segments", function () {
        const exact = matchRoute(routes, "/products");
        assert.equal(exact.kind === "route" && exact.upstreamPath, "");
        const slash = matchRoute(routes, "/products/");
        assert.equal(slash.kind === "route" && slash.upstreamPath, "/");
        const doubled = matchRoute(routes, "/products//a///b/");
        assert.equal(doubled.kind === "route" && doubled.upstreamPath, "/a/b/");
    });

    it("recognises the health paths before any route", function () {
        assert.deepEqual(matchRoute(compileRoutes([spec("root", "/")]), "/health/live"), { kind: "health", check: "live" });
        assert.deepEqual(matchRoute(routes, "/health/ready"), { kind: "health", check: "ready" });
    });

    for (const [label, rawPath] of [
        ["a '..' segment", "/products/../admin"],
        ["a '.' segment", "/products/./x"],
        ["%2e%2e", "/products/%2e%2e/admin"],
        ["mixed-case .%2E", "/products/.%2E/admin"],
        ["%2E%2e", "/products/%2E%2e"],
        ["an encoded slash", "/products/a%2Fb"],
        ["an encoded backslash", "/products/a%5cb"],
        ["a backslash", "/products/a\\..\\b"],
        ["an encoded null byte", "/products/a%00"],
        ["a null byte", "/products/a\u0000b"],
        ["a control character", "/products/a\nb"],
        ["percent-escapes that are not UTF-8", "/products/%ff%fe"],
        ["a path not starting with '/'", "products/1"],
        ["an over-long path", `/products/${"a".repeat(9000)}`],
    ] as const) {
        it(`refuses ${label}`, function () {
            assert.equal(matchRoute(routes, rawPath).kind, "bad-path");
        });
    }

    it("re-encodes what API Gateway decoded, so a decoded '?' or '#' stays in the path", function () {
        const match = matchRoute(routes, "/products/a b?c#d/é");
        assert.equal(match.kind === "route" && match.upstreamPath, "/a%20b%3Fc%23d/%C3%A9");
        const encoded = matchRoute(routes, "/products/a%20b/100%");
        assert.equal(encoded.kind === "route" && encoded.upstreamPath, "/a%20b/100%25");
    });

    it("encodes a character outside the BMP whole, and refuses a lone surrogate instead of throwing", function () {
        const match = matchRoute(routes, "/products/\u{1F600}");
        assert.equal(match.kind === "route" && match.upstreamPath, "/%F0%9F%98%80");
        assert.equal(matchRoute(routes, "/products/\ud83d").kind, "bad-path");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=\u{1F600}"), "https://orders.example.com/a?q=%F0%9F%98%80");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=\udc00"), undefined);
    });

    it("matches a prefix spelled with percent-escapes", function () {
        const match = matchRoute(routes, "/pr%6Fducts/1");
        assert.equal(match.kind === "route" && match.route.name, "products");
    });

    it("builds the upstream URL from base, path and query", function () {
        assert.equal(upstreamUrl("https://orders.example.com/v1", "/7/items", "a=1&b=%20x"), "https://orders.example.com/v1/7/items?a=1&b=%20x");
        assert.equal(upstreamUrl("https://orders.example.com/v1/", "", ""), "https://orders.example.com/v1");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=a b#c"), "https://orders.example.com/a?q=a%20b%23c");
    });

    it("never yields an upstream URL outside the route's base, whatever the path (property)", function () {
        const base = "https://svc.example.com/api/v2";
        const oneRoute = compileRoutes([spec("svc", "/svc", base)]);
        const pieces = fc.constantFrom("..", ".", "%2e", "%2E", "%2e%2e", ".%2e", "%2f", "%2F", "%5c", "\\", "/", "//", "%00", "%", "%25", "a", "é", "?", "#", " ", "%3f", "@", ":", "x.y", "~");
        fc.assert(
            fc.property(fc.array(pieces, { maxLength: 12 }), fc.string({ maxLength: 20 }), (parts, query) => {
                const rawPath = `/svc/${parts.join("")}`;
                const match = matchRoute(oneRoute, rawPath);
                if (match.kind !== "route") return true;
                const url = upstreamUrl(base, match.upstreamPath, query);
                if (url === undefined) return true;
                const parsed = new URL(url);
                return parsed.origin === "https://svc.example.com" && (parsed.pathname === "/api/v2" || parsed.pathname.startsWith("/api/v2/")) && !parsed.pathname.split("/").includes("..");
            }),
            { seed: 20311, numRuns: 3000 },
        );
    });

    it("parses segments for matching and forwarding separately", function () {
        assert.deepEqual(parsePath("/a%20b/c"), { encoded: ["a%20b", "c"], decoded: ["a b", "c"], trailingSlash: false });
    });
});
