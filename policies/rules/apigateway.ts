/**
 * API Gateway policies: stage throttling that actually admits traffic, access
 * logs on every stage, and TLS 1.2 or later on every custom domain.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

interface ThrottleSettings {
    throttlingBurstLimit?: number;
    throttlingRateLimit?: number;
}

const isPositive = (value: unknown): value is number => typeof value === "number" && value > 0;

/** What is wrong with one throttle block (`where` names it, e.g. `defaultRouteSettings`); empty when both limits are above zero. */
function throttleProblems(settings: ThrottleSettings, where: string): string[] {
    const problems: string[] = [];
    for (const key of ["throttlingBurstLimit", "throttlingRateLimit"] as const) {
        const value = settings[key];
        if (value === undefined || value === null) problems.push(`${where}.${key} is unset, which API Gateway applies as 0`);
        else if (!isPositive(value)) problems.push(`${where}.${key} is ${value}`);
    }
    return problems;
}

export const apigatewayStageThrottling: ResourceValidationPolicy = {
    name: "apigateway-stage-throttling",
    description:
        "API Gateway v2 stages set both throttlingBurstLimit and throttlingRateLimit above 0 (an unset limit is sent as 0 and every request is refused with 429; no settings at all means only the account-wide limit).",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.apigatewayv2.Stage, (stage, args, reportViolation) => {
        const label = resourceLabel(args.type, args.name, stage.name);
        const fix = "defaultRouteSettings = { throttlingBurstLimit: <burst>, throttlingRateLimit: <requests per second> }, both above 0";
        const tollgate = { urn: args.urn, configKey: "tollgate:throttle.burstLimit and tollgate:throttle.rateLimit above 0" };
        if (!stage.defaultRouteSettings) {
            reportViolation(violation(label, "has no stage throttling (defaultRouteSettings is unset), so only the account-wide limit shared by every API applies", fix, tollgate));
        } else {
            const problems = throttleProblems(stage.defaultRouteSettings, "defaultRouteSettings");
            if (problems.length) reportViolation(violation(label, `${problems.join("; ")} (0 refuses every request with 429)`, fix, tollgate));
        }
        (stage.routeSettings ?? []).forEach((route, index) => {
            const problems = throttleProblems(route, `routeSettings[${index}] (${route.routeKey})`);
            if (problems.length) {
                reportViolation(
                    violation(label, `${problems.join("; ")} (0 refuses every request to that route with 429)`, `routeSettings[${index}].throttlingBurstLimit and .throttlingRateLimit above 0`),
                );
            }
        });
    }),
};

const accessLogFix = "accessLogSettings = { destinationArn: <log group ARN>, format: <JSON access log format> }";

export const apigatewayAccessLogging: ResourceValidationPolicy = {
    name: "apigateway-access-logging",
    description: "API Gateway stages (HTTP, WebSocket and REST) write access logs to a log destination, with a format.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(aws.apigatewayv2.Stage, (stage, args, reportViolation) => {
            const settings = stage.accessLogSettings;
            if (!settings?.destinationArn || !settings.format) {
                reportViolation(violation(resourceLabel(args.type, args.name, stage.name), settings ? "access log destination or format is empty" : "access logging is off", accessLogFix));
            }
        }),
        validateResourceOfType(aws.apigateway.Stage, (stage, args, reportViolation) => {
            const settings = stage.accessLogSettings;
            if (!settings?.destinationArn || !settings.format) {
                reportViolation(violation(resourceLabel(args.type, args.name, stage.stageName), settings ? "access log destination or format is empty" : "access logging is off", accessLogFix));
            }
        }),
    ],
};

/**
 * Security policies of a custom domain that refuse TLS 1.0 and 1.1: the legacy
 * `TLS_1_2` ("accepts TLS 1.2 and TLS 1.3 traffic and rejects TLS 1.0 traffic")
 * and the enhanced `SecurityPolicy_TLS12_*` / `SecurityPolicy_TLS13_*` policies
 * of REST API domains. https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-custom-domain-tls-version.html
 */
export function isTls12OrLater(securityPolicy: string | undefined): boolean {
    return securityPolicy === "TLS_1_2" || /^SecurityPolicy_TLS1[23]_/.test(securityPolicy ?? "");
}

export const apigatewayDomainTls: ResourceValidationPolicy = {
    name: "apigateway-domain-tls",
    description: "API Gateway custom domains (HTTP and REST) set a security policy of TLS 1.2 or later (TLS_1_2, or an enhanced SecurityPolicy_TLS12_/TLS13_ policy), never TLS_1_0 or an unset one.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(aws.apigatewayv2.DomainName, (domain, args, reportViolation) => {
            const policy = domain.domainNameConfiguration?.securityPolicy;
            if (!isTls12OrLater(policy)) {
                reportViolation(
                    violation(resourceLabel(args.type, args.name, domain.domainName), `security policy is ${policy ?? "unset"}, which accepts TLS below 1.2`, 'domainNameConfiguration.securityPolicy = "TLS_1_2"'),
                );
            }
        }),
        validateResourceOfType(aws.apigateway.DomainName, (domain, args, reportViolation) => {
            const policy = domain.securityPolicy;
            if (!isTls12OrLater(policy)) {
                reportViolation(
                    violation(
                        resourceLabel(args.type, args.name, domain.domainName),
                        policy ? `security policy is ${policy}, which accepts TLS below 1.2` : "no security policy is set, so the minimum TLS version is left to API Gateway's default",
                        'securityPolicy = "TLS_1_2" (or an enhanced SecurityPolicy_TLS13_* policy)',
                    ),
                );
            }
        }),
    ],
};
