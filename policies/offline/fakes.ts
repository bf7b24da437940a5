/**
 * What the fake cloud answers under mocks: the state of a created resource
 * (its inputs plus the attributes AWS would compute, such as `arn`) and the
 * results of the data-source calls this program and awsx make.
 */
import { generateKeyPairSync } from "node:crypto";

export const fakeAccount = "123456789012";

/** `tls.PrivateKey`'s `ecdsaCurve` names -> Node's. */
const curves: Record<string, string> = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" };
export const fakeRegion = "eu-west-1";

const arnService: Record<string, (name: string, inputs: any, region: string) => string> = {
    "aws:dynamodb/table:Table": (name, i, region) => `arn:aws:dynamodb:${region}:${fakeAccount}:table/${i.name ?? name}`,
    "aws:lambda/function:Function": (name, i, region) => `arn:aws:lambda:${region}:${fakeAccount}:function:${i.name ?? name}`,
    "aws:iam/role:Role": (name, i) => `arn:aws:iam::${fakeAccount}:role/${i.name ?? name}`,
    "aws:iam/policy:Policy": (name, i) => `arn:aws:iam::${fakeAccount}:policy/${i.name ?? name}`,
    "aws:cloudwatch/logGroup:LogGroup": (name, i, region) => `arn:aws:logs:${region}:${fakeAccount}:log-group:${i.name ?? name}`,
    "aws:sns/topic:Topic": (name, i, region) => `arn:aws:sns:${region}:${fakeAccount}:${i.name ?? name}`,
    "aws:secretsmanager/secret:Secret": (name, i, region) => `arn:aws:secretsmanager:${region}:${fakeAccount}:secret:${i.name ?? name}-AbCdEf`,
    "aws:acm/certificate:Certificate": (name, _i, region) => `arn:aws:acm:${region}:${fakeAccount}:certificate/${name}`,
    "aws:kms/key:Key": (name, _i, region) => `arn:aws:kms:${region}:${fakeAccount}:key/${name}`,
    "aws:backup/vault:Vault": (name, i, region) => `arn:aws:backup:${region}:${fakeAccount}:backup-vault:${i.name ?? name}`,
    "aws:backup/plan:Plan": (name, _i, region) => `arn:aws:backup:${region}:${fakeAccount}:backup-plan:${name}`,
};

/**
 * `region` is where the resource lives: its own `region` argument, else its
 * explicit provider's region (the harness looks that up), else the stack's.
 */
export function fakeState(type: string, name: string, inputs: any, region: string = fakeRegion): Record<string, any> {
    const id = `${name}-id`;
    region = typeof inputs?.region === "string" && !type.startsWith("pulumi:providers:") ? inputs.region : region;
    const arn = (arnService[type] ?? ((n: string) => `arn:aws:${type.split(":")[1]?.split("/")[0] ?? "unknown"}:${region}:${fakeAccount}:${n}`))(name, inputs, region);
    const state: Record<string, any> = { ...inputs, arn, id };
    switch (type) {
        case "aws:apigatewayv2/api:Api":
            state.apiEndpoint = `https://${id}.execute-api.${fakeRegion}.amazonaws.com`;
            state.executionArn = `arn:aws:execute-api:${fakeRegion}:${fakeAccount}:${id}`;
            break;
        case "aws:apigatewayv2/stage:Stage":
            state.invokeUrl = `https://api-id.execute-api.${fakeRegion}.amazonaws.com/`;
            break;
        case "aws:apigatewayv2/domainName:DomainName":
            state.domainNameConfiguration = {
                ...(inputs.domainNameConfiguration ?? {}),
                targetDomainName: `d-${id}.execute-api.${fakeRegion}.amazonaws.com`,
                hostedZoneId: "ZFAKEAPIGWZONE",
            };
            break;
        case "aws:acm/certificate:Certificate":
            state.domainValidationOptions = [
                { domainName: inputs.domainName, resourceRecordName: `_x1.${inputs.domainName}.`, resourceRecordType: "CNAME", resourceRecordValue: "_x2.acm-validations.aws." },
            ];
            break;
        case "aws:dynamodb/table:Table":
            if (inputs.streamEnabled) state.streamArn = `${arn}/stream/2026-01-01T00:00:00.000`;
            break;
        case "aws:lambda/function:Function":
            state.invokeArn = `arn:aws:apigateway:${fakeRegion}:lambda:path/2015-03-31/functions/${arn}/invocations`;
            state.name = inputs.name ?? name;
            break;
        case "aws:route53/record:Record":
            state.fqdn = String(inputs.name ?? name).replace(/\.$/, "");
            break;
        case "awsx:ec2:Vpc":
            state.vpcId = `vpc-${id}`;
            state.privateSubnetIds = ["a", "b", "c"].slice(0, inputs.numberOfAvailabilityZones ?? 3).map((az) => `subnet-private-${az}`);
            state.publicSubnetIds = ["a", "b", "c"].slice(0, inputs.numberOfAvailabilityZones ?? 3).map((az) => `subnet-public-${az}`);
            break;
        case "random:index/randomPassword:RandomPassword":
            state.result = "x".repeat(inputs.length ?? 32);
            break;
        case "tls:index/privateKey:PrivateKey": {
            // A real key of the kind asked for, so what the program makes of it (the gateway's key secret) can be used as deployed.
            const { privateKey, publicKey } = inputs.algorithm === "ECDSA" ? generateKeyPairSync("ec", { namedCurve: curves[inputs.ecdsaCurve ?? "P224"] ?? "P-256" }) : generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 });
            state.privateKeyPemPkcs8 = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
            state.privateKeyPem = privateKey.export({ format: "pem", type: inputs.algorithm === "ECDSA" ? "sec1" : "pkcs1" }).toString();
            state.publicKeyPem = publicKey.export({ format: "pem", type: "spki" }).toString();
            break;
        }
        case "aws:cloudwatch/dashboard:Dashboard":
            state.dashboardArn = arn;
            break;
    }
    if (state.name === undefined && !type.startsWith("pulumi:")) state.name = name;
    return state;
}

export function fakeCall(token: string, inputs: any): Record<string, any> {
    switch (token) {
        case "aws:index/getRegion:getRegion":
            return { name: fakeRegion, region: fakeRegion, id: fakeRegion };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: fakeAccount, arn: `arn:aws:iam::${fakeAccount}:user/test`, userId: "AIDAFAKE" };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"] };
        case "aws:ec2/getRouteTables:getRouteTables":
            return { id: inputs.vpcId ?? "route-tables", ids: ["rtb-private-a", "rtb-private-b"], filters: inputs.filters, vpcId: inputs.vpcId };
        default:
            return { ...inputs };
    }
}
