/**
 * Domain: the gateway on a custom domain (`tollgate:domain`). An ACM
 * certificate validated through DNS in the given Route53 zone (or an existing
 * certificate), the API Gateway domain name (TLS 1.2, IPv4 and IPv6), its
 * mapping to the API's `$default` stage, and alias A and AAAA records.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { transformed, type Transform } from "./transform";

export interface DomainArgs {
    /**
     * The domain the API answers on.
     * @example "api.example.com"
     */
    domainName: pulumi.Input<string>;
    /**
     * Route53 hosted zone that holds `domainName`: the validation and alias records go there.
     * @example "Z0123456789EXAMPLE0"
     */
    hostedZoneId: pulumi.Input<string>;
    /**
     * An issued ACM certificate for `domainName` in the API's region.
     * @default a new certificate, DNS-validated in `hostedZoneId`
     */
    certificateArn?: pulumi.Input<string>;
    /** The API to map; the domain serves its stage at the root path. */
    apiId: pulumi.Input<string>;
    /**
     * The stage the domain serves (the API's `$default` stage).
     * @example gateway.stage.id
     */
    stage: pulumi.Input<string>;
    /** Tags added to every taggable resource. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates. */
    transform?: {
        certificate?: Transform<aws.acm.CertificateArgs>;
        validationRecord?: Transform<aws.route53.RecordArgs>;
        domainName?: Transform<aws.apigatewayv2.DomainNameArgs>;
        apiMapping?: Transform<aws.apigatewayv2.ApiMappingArgs>;
        /** Applied to the A and the AAAA record (the name tells which). */
        aliasRecord?: Transform<aws.route53.RecordArgs>;
    };
}

function resolveDomainArgs(args: DomainArgs) {
    return { ...args, tags: args.tags ?? {}, transform: args.transform ?? {} };
}

export class Domain extends pulumi.ComponentResource {
    /** Set unless `certificateArn` was given. */
    readonly certificate?: aws.acm.Certificate;
    readonly validationRecord?: aws.route53.Record;
    readonly certificateValidation?: aws.acm.CertificateValidation;
    readonly domainName: aws.apigatewayv2.DomainName;
    readonly apiMapping: aws.apigatewayv2.ApiMapping;
    readonly aliasRecords: { ipv4: aws.route53.Record; ipv6: aws.route53.Record };
    /** `https://{domainName}` */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: DomainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tollgate:domain:Domain", name, {}, opts);
        const settings = resolveDomainArgs(args);
        const { transform, tags } = settings;
        const child = { parent: this };

        let certificateArn: pulumi.Input<string>;
        if (settings.certificateArn) {
            certificateArn = settings.certificateArn;
        } else {
            this.certificate = new aws.acm.Certificate(
                ...transformed(transform.certificate, `${name}-certificate`, { domainName: settings.domainName, validationMethod: "DNS", tags }, { ...child }),
            );
            // One domain name, so exactly one validation record.
            const validation = this.certificate.domainValidationOptions[0];
            this.validationRecord = new aws.route53.Record(
                ...transformed(
                    transform.validationRecord,
                    `${name}-validation`,
                    {
                        zoneId: settings.hostedZoneId,
                        name: validation.resourceRecordName,
                        type: validation.resourceRecordType,
                        records: [validation.resourceRecordValue],
                        ttl: 60,
                        // A re-created certificate reuses the same validation record.
                        allowOverwrite: true,
                    },
                    { ...child },
                ),
            );
            this.certificateValidation = new aws.acm.CertificateValidation(
                `${name}-certificate-validation`,
                { certificateArn: this.certificate.arn, validationRecordFqdns: [this.validationRecord.fqdn] },
                { ...child },
            );
            certificateArn = this.certificateValidation.certificateArn;
        }

        this.domainName = new aws.apigatewayv2.DomainName(
            ...transformed(
                transform.domainName,
                `${name}-domain-name`,
                {
                    domainName: settings.domainName,
                    domainNameConfiguration: { certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2", ipAddressType: "dualstack" },
                    tags,
                },
                { ...child },
            ),
        );
        this.apiMapping = new aws.apigatewayv2.ApiMapping(
            ...transformed(transform.apiMapping, `${name}-mapping`, { apiId: settings.apiId, domainName: this.domainName.id, stage: settings.stage }, { ...child }),
        );
        const target = this.domainName.domainNameConfiguration;
        const alias = (role: string, type: "A" | "AAAA") =>
            new aws.route53.Record(
                ...transformed(
                    transform.aliasRecord,
                    `${name}-${role}`,
                    {
                        zoneId: settings.hostedZoneId,
                        name: settings.domainName,
                        type,
                        aliases: [{ name: target.targetDomainName.apply((t) => t!), zoneId: target.hostedZoneId.apply((z) => z!), evaluateTargetHealth: false }],
                    },
                    { ...child },
                ),
            );
        this.aliasRecords = { ipv4: alias("alias-a", "A"), ipv6: alias("alias-aaaa", "AAAA") };

        this.url = pulumi.interpolate`https://${settings.domainName}`;
        this.registerOutputs({ url: this.url });
    }
}
