/**
 * API Gateway policies: stage throttling that actually admits traffic, and
 * access logs on every stage.
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
