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

    for (const [label, rawPath, reason] of [
        ["a '..' segment", "/products/../admin", "path.dot_segment"],
        ["a '.' segment", "/products/./x", "path.dot_segment"],
        ["%2e%2e (the client's %252e%252e, decoded once by API Gateway)", "/products/%2e%2e/admin", "path.dot_segment"],
        ["mixed-case .%2E", "/products/.%2E/admin", "path.dot_segment"],
        ["%2E%2e", "/products/%2E%2e", "path.dot_segment"],
        ["an encoded slash", "/products/a%2Fb", "path.hidden_separator"],
        ["an encoded backslash", "/products/a%5cb", "path.hidden_separator"],
        ["a backslash", "/products/a\\..\\b", "path.invalid"],
        ["an encoded null byte", "/products/a%00", "path.hidden_separator"],
        ["a null byte", "/products/a\u0000b", "path.invalid"],
        ["a control character", "/products/a\nb", "path.invalid"],
        ["a '..;' segment (Tomcat, Jetty and Spring read it as '..')", "/products/..;/admin", "path.dot_segment"],
        ["a '.;x' segment", "/products/.;jsessionid=1/admin", "path.dot_segment"],
        ["an encoded '..;' decoded once by API Gateway", "/products/%2e%2e;/admin", "path.dot_segment"],
        ["a dot segment encoded three times", "/products/%252e%252E/admin", "path.dot_segment"],
        ["a backslash encoded three times", "/products/a%255cb", "path.hidden_separator"],
        ["a path not starting with '/'", "products/1", "path.invalid"],
        ["an over-long path", `/products/${"a".repeat(9000)}`, "path.invalid"],
    ] as const) {
        it(`refuses ${label}, saying why (${reason})`, function () {
            assert.deepEqual(matchRoute(routes, rawPath), { kind: "bad-path", reason });
        });
    }

    it("re-encodes what API Gateway decoded, so a decoded '?' or '#' stays in the path", function () {
        const match = matchRoute(routes, "/products/a b?c#d/é");
        assert.equal(match.kind === "route" && match.upstreamPath, "/a%20b%3Fc%23d/%C3%A9");
    });

    it("decodes the path exactly once: a '%' API Gateway decoded is sent as %25, so the upstream sees the client's %2541 as %41", function () {
        // given the client sent /products/%2541, /products/a%2520b and /products/100%25, which API Gateway decodes once
        const twice = matchRoute(routes, "/products/%41");
        assert.equal(twice.kind === "route" && twice.upstreamPath, "/%2541");
        const space = matchRoute(routes, "/products/a%20b/100%");
        assert.equal(space.kind === "route" && space.upstreamPath, "/a%2520b/100%25");
        // and escapes that are not UTF-8 are text like any other
        const bytes = matchRoute(routes, "/products/%ff%fe");
        assert.equal(bytes.kind === "route" && bytes.upstreamPath, "/%25ff%25fe");
    });

    it("encodes a character outside the BMP whole, and refuses a lone surrogate instead of throwing", function () {
        const match = matchRoute(routes, "/products/\u{1F600}");
        assert.equal(match.kind === "route" && match.upstreamPath, "/%F0%9F%98%80");
        assert.equal(matchRoute(routes, "/products/\ud83d").kind, "bad-path");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=\u{1F600}")?.href, "https://orders.example.com/a?q=%F0%9F%98%80");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=\udc00"), undefined);
    });

    it("matches a prefix whose text only a second decoding gives, as a server that decodes twice would read it", function () {
        // /pr%256Fducts from the client is /pr%6Fducts here: the products route, which it is to such a server; the upstream gets /1
        const match = matchRoute(routes, "/pr%6Fducts/1");
        assert.equal(match.kind === "route" && match.route.name, "products");
        assert.equal(match.kind === "route" && match.upstreamPath, "/1");
        const cafe = matchRoute(compileRoutes([spec("cafe", "/caf")]), "/caf/1");
        assert.equal(cafe.kind === "route" && cafe.route.name, "cafe");
    });

    it("builds the upstream URL from base, path and query", function () {
        assert.equal(upstreamUrl("https://orders.example.com/v1", "/7/items", "a=1&b=%20x")?.href, "https://orders.example.com/v1/7/items?a=1&b=%20x");
        assert.equal(upstreamUrl("https://orders.example.com/v1/", "", "")?.href, "https://orders.example.com/v1");
        assert.equal(upstreamUrl("https://orders.example.com", "/a", "q=a b#c")?.href, "https://orders.example.com/a?q=a%20b%23c");
    });

    it("never yields an upstream URL outside the route's base, whatever the path (property)", function () {
        const base = "https://svc.example.com/api/v2";
        const oneRoute = compileRoutes([spec("svc", "/svc", base)]);
        const pieces = fc.constantFrom("..", ".", "%2e", "%2E", "%2e%2e", ".%2e", "%252e", "%2f", "%2F", "%5c", "\\", "/", "//", "%00", "%", "%25", ";", "a", "é", "?", "#", " ", "%3f", "%3b", "@", ":", "x.y", "~");
        fc.assert(
            fc.property(fc.array(pieces, { maxLength: 12 }), fc.string({ maxLength: 20 }), (parts, query) => {
                const rawPath = `/svc/${parts.join("")}`;
                const match = matchRoute(oneRoute, rawPath);
                if (match.kind !== "route") return true;
                const url = upstreamUrl(base, match.upstreamPath, query);
                if (url === undefined) return true;
                const parsed = new URL(url);
                // however often an upstream decodes the path, no segment is a dot segment
                let decoded = parsed.pathname;
                for (let round = 0; round < 4; round++) decoded = decoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
                const dotSegment = decoded.split("/").some((segment) => [".", ".."].includes(segment.split(";")[0]));
                return parsed.origin === "https://svc.example.com" && (parsed.pathname === "/api/v2" || parsed.pathname.startsWith("/api/v2/")) && !dotSegment;
            }),
            { seed: 20311, numRuns: 3000 },
        );
    });

    it("parses segments for matching and forwarding separately", function () {
        assert.deepEqual(parsePath("/a b/C"), { encoded: ["a%20b", "C"], decoded: ["a b", "C"], asRead: ["a b", "c"], trailingSlash: false, readAsSent: false });
        const plain = parsePath("/a/b.json");
        assert.equal("readAsSent" in plain && plain.readAsSent, true);
    });
});

describe("routing on the path as the server stacks read it", function () {
    // A public prefix beside a protected one on the same login service, and a catalogue with a protected key store.
    const routes = compileRoutes([
        spec("auth", "/auth"),
        { ...spec("logout", "/auth/logout"), auth: "session" },
        spec("api", "/api"),
        { ...spec("keys", "/api/keys"), auth: "jwt" },
    ]);
    const withRoot = compileRoutes([spec("root", "/"), { ...spec("admin", "/admin"), auth: "jwt" }]);
    const chosen = (table: typeof routes, rawPath: string) => {
        const match = matchRoute(table, rawPath);
        return match.kind === "route" ? match.route.name : match.kind === "bad-path" ? `bad-path ${match.reason}` : match.kind;
    };

    for (const [label, rawPath] of [
        ["a ;parameter on the protected segment (Tomcat, Jetty, Spring remove it)", "/auth/logout;x"],
        ["a ;jsessionid and more path", "/auth/logout;jsessionid=0A1B/all"],
        ["an encoded ; (the client's %3b, decoded once by API Gateway)", "/auth/logout;"],
        ["upper case (ASP.NET, IIS, case-insensitive Spring)", "/auth/LOGOUT"],
        ["mixed case", "/auth/LogOut"],
        ["a trailing space (the client's %20)", "/auth/logout "],
        ["a trailing dot (IIS, after Windows file names)", "/auth/logout."],
        ["trailing dots and spaces mixed", "/auth/logout. . "],
        ["a trailing no-break space", "/auth/logout\u00a0"],
        ["an escape a second decoding reads (the client's %2574)", "/auth/logou%74"],
        ["an escaped ; a second decoding reads", "/auth/logout%3bx"],
        ["the Kelvin sign, which Java's equalsIgnoreCase takes for k", "/api/\u212Aeys"],
        ["a long s, which it takes for s", "/api/key\u017F"],
    ] as const) {
        it(`refuses with 400, never the weaker route: ${label}`, function () {
            assert.equal(chosen(routes, rawPath), "bad-path path.ambiguous_route", rawPath);
        });
    }

    for (const [label, rawPath] of [
        ["a ;parameter alone", "/auth/;x/logout"],
        ["a segment of dots", "/auth/.../logout"],
        ["a lone space", "/auth/ /logout"],
        ["a dot and a space", "/auth/. /logout"],
    ] as const) {
        it(`refuses a segment that is nothing once read, which a server drops so the next one moves up: ${label}`, function () {
            assert.equal(chosen(routes, rawPath), "bad-path path.empty_once_read", rawPath);
        });
    }

    it("chooses the route the path names however it is spelled, when only that reading matches", function () {
        assert.equal(chosen(routes, "/AUTH/LOGOUT"), "logout");
        assert.equal(chosen(routes, "/Auth/logout/all"), "logout");
        const match = matchRoute(routes, "/API/Keys;v=2/k1");
        assert.equal(match.kind === "route" && match.route.name, "keys");
        assert.equal(match.kind === "route" && match.upstreamPath, "/k1");
    });

    it("keeps a path both readings send to one route, and sends the upstream its segments as the client wrote them", function () {
        const match = matchRoute(routes, "/auth/Login;jsessionid=1");
        assert.equal(match.kind === "route" && match.route.name, "auth");
        assert.equal(match.kind === "route" && match.upstreamPath, "/Login;jsessionid=1");
        assert.equal(chosen(routes, "/auth/logout/LOGOUT."), "logout");
    });

    it("refuses a path the root route takes as sent and a protected route takes as read", function () {
        assert.equal(chosen(withRoot, "/ADMIN/users"), "bad-path path.ambiguous_route");
        assert.equal(chosen(withRoot, "/admin;x/users"), "bad-path path.ambiguous_route");
        assert.equal(chosen(withRoot, "/Health/Live"), "bad-path path.ambiguous_route");
        assert.equal(chosen(withRoot, "/.well-known/Sessions"), "bad-path path.ambiguous_route");
        assert.equal(chosen(withRoot, "/administrators"), "root");
    });

    it("answers the gateway's own paths however they are spelled when no route would take them", function () {
        assert.equal(chosen(routes, "/HEALTH/live"), "health");
        assert.equal(chosen(routes, "/.WELL-KNOWN/jwks.json"), "jwks");
        assert.deepEqual(matchRoute(routes, "/.well-known/SESSIONS"), { kind: "self-service", sessionId: undefined });
    });

    /** How a server stack reads a path, each on its own: the gateway's route must be the one each takes, or one each finds nothing under. */
    const readers: Record<string, (segments: string[]) => string[]> = {
        tomcat: (segments) => segments.map((segment) => segment.split(";")[0]).filter(Boolean),
        iis: (segments) => segments.map((segment) => segment.replace(/[ .]+$/, "").toLowerCase()).filter(Boolean),
        twiceDecoding: (segments) => segments.map((segment) => segment.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)))),
        javaIgnoringCase: (segments) => segments.map((segment) => [...segment].map((c) => c.toUpperCase().toLowerCase()).join("")),
    };
    const specs = [spec("auth", "/auth"), spec("logout", "/auth/logout"), spec("api", "/api"), spec("keys", "/api/keys"), spec("root", "/")];
    const longestUnder = (segments: string[]) =>
        specs
            .map((route) => ({ name: route.name, prefix: route.pathPrefix.split("/").filter(Boolean) }))
            .filter((route) => route.prefix.length <= segments.length && route.prefix.every((segment, i) => segments[i] === segment))
            .sort((a, b) => b.prefix.length - a.prefix.length)[0]?.name;

    it("never sends a path to a route other than the one each server stack's reading takes (property)", function () {
        const table = compileRoutes(specs);
        const pieces = fc.constantFrom("auth", "AUTH", "Auth", "logout", "LOGOUT", "logout;x", ";x", "logout.", "logout ", "logou%74", "api", "API", "keys", "\u212Aeys", "key\u017F", "x", "y;", "%20", ".", " ");
        fc.assert(
            fc.property(fc.array(pieces, { minLength: 1, maxLength: 5 }), (segments) => {
                const match = matchRoute(table, `/${segments.join("/")}`);
                if (match.kind !== "route") return true;
                return Object.values(readers).every((read) => {
                    const theirs = longestUnder(read(segments));
                    return theirs === undefined || theirs === "root" || theirs === match.route.name;
                });
            }),
            { seed: 20317, numRuns: 3000 },
        );
    });
});
