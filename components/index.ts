/**
 * The tollgate package: `import { Tollgate } from "tollgate"`.
 *
 * The `Tollgate` component, its args and their choices, and the types of what
 * it exposes. The child components are exported for their types and for
 * programs that compose a gateway of their own; everything else in the
 * package is internal. The session library is `tollgate/sessions`.
 */
export { Tollgate, type LogGroupNames, type TollgateArgs, type TollgateResource } from "./tollgate";
export {
    AttributeType,
    BillingMode,
    IndexProjection,
    LambdaArchitecture,
    LogLevel,
    RateLimitAlgorithm,
    RateLimitBy,
    RateLimitFailureMode,
    RouteAuth,
    SameSite,
    StreamView,
    TableClass,
} from "../specs/args";
export type {
    AppTable,
    BackupSettings,
    Cors,
    CustomDomain,
    GlobalSecondaryIndex,
    IdentitySettings,
    IndexKeyAttribute,
    JwtSettings,
    KeyAttribute,
    LambdaSettings,
    RateLimit,
    Route,
    RouteRateLimit,
    RouteSessionOptions,
    SessionCookie,
    SessionsSettings,
    TableSettings,
    Throttle,
    TollgateConfig,
    VpcSettings,
} from "../specs/args";
export { Backup, type BackupArgs } from "./backup";
export { Domain, type DomainArgs } from "./domain";
export { Gateway, type GatewayArgs } from "./gateway";
export { Logging, type LoggingArgs } from "./logging";
export { Network, type NetworkArgs } from "./network";
export { Tables, type TablesArgs } from "./tables";
export type { Transform } from "./transform";
