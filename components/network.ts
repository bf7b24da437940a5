/**
 * Network: the optional VPC the gateway Lambda runs in (`tollgate:vpc`).
 * Private subnets reach upstreams through NAT; DynamoDB traffic takes a
 * gateway endpoint on the private route tables, so it never crosses the NAT
 * (no NAT data charge, and no dependence on it for every request).
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { transformed, type Transform } from "./transform";

export interface NetworkArgs {
    /**
     * Prefix of the physical names (the VPC's `Name` tag).
     * @example "tollgate-prod"
     */
    prefix: string;
    /**
     * NAT gateways: 1 shares one NAT across two availability zones; 2 or 3 put
     * one in each of that many zones, so losing a zone loses no egress.
     * @default 1
     */
    natGateways?: number;
    /** @default "10.0.0.0/16" */
    cidrBlock?: string;
    /** Tags added to every taggable resource. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates. */
    transform?: {
        vpc?: Transform<awsx.ec2.VpcArgs>;
        securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        dynamodbEndpoint?: Transform<aws.ec2.VpcEndpointArgs>;
    };
}

function resolveNetworkArgs(args: NetworkArgs) {
    const natGateways = args.natGateways ?? 1;
    if (!Number.isInteger(natGateways) || natGateways < 1 || natGateways > 3) {
        throw new pulumi.RunError(`Network: natGateways must be 1, 2 or 3 (got ${natGateways})`);
    }
    return {
        ...args,
        natGateways,
        // A Lambda in a VPC wants subnets in at least two zones.
        availabilityZones: Math.max(2, natGateways),
        natStrategy: natGateways === 1 ? awsx.ec2.NatGatewayStrategy.Single : awsx.ec2.NatGatewayStrategy.OnePerAz,
        cidrBlock: args.cidrBlock ?? "10.0.0.0/16",
        tags: args.tags ?? {},
        transform: args.transform ?? {},
    };
}

export class Network extends pulumi.ComponentResource {
    readonly vpc: awsx.ec2.Vpc;
    /** The Lambda's security group: no ingress, all egress (upstreams on any port, DynamoDB through the endpoint). */
    readonly securityGroup: aws.ec2.SecurityGroup;
    readonly dynamodbEndpoint: aws.ec2.VpcEndpoint;
    readonly privateSubnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tollgate:network:Network", name, {}, opts);
        const settings = resolveNetworkArgs(args);
        const { transform, tags } = settings;

        const vpcArgs: awsx.ec2.VpcArgs = {
            cidrBlock: settings.cidrBlock,
            numberOfAvailabilityZones: settings.availabilityZones,
            natGateways: { strategy: settings.natStrategy },
            subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
            subnetSpecs: [{ type: awsx.ec2.SubnetType.Public }, { type: awsx.ec2.SubnetType.Private }],
            enableDnsHostnames: true,
            tags: { ...tags, Name: `${settings.prefix}-vpc` },
        };
        const [vpcName, vpcArgsFinal, vpcOpts] = transformed(transform.vpc, `${name}-vpc`, vpcArgs, { parent: this });
        this.vpc = new awsx.ec2.Vpc(vpcName, vpcArgsFinal, vpcOpts);
        this.privateSubnetIds = this.vpc.privateSubnetIds;

        this.securityGroup = new aws.ec2.SecurityGroup(
            ...transformed(
                transform.securityGroup,
                `${name}-lambda`,
                {
                    vpcId: this.vpc.vpcId,
                    description: `tollgate gateway Lambda (${settings.prefix}): egress only`,
                    egress: [
                        {
                            description: "All outbound: upstreams on any port through NAT, DynamoDB through the gateway endpoint",
                            protocol: "-1",
                            fromPort: 0,
                            toPort: 0,
                            cidrBlocks: ["0.0.0.0/0"],
                            ipv6CidrBlocks: ["::/0"],
                        },
                    ],
                    tags,
                },
                { parent: this },
            ),
        );

        // awsx tags each subnet's route table with its SubnetType.
        const privateRouteTables = aws.ec2.getRouteTablesOutput(
            { vpcId: this.vpc.vpcId, filters: [{ name: "tag:SubnetType", values: ["Private"] }] },
            { parent: this, dependsOn: [this.vpc] },
        );
        const region = aws.getRegionOutput({}, { parent: this }).region;
        this.dynamodbEndpoint = new aws.ec2.VpcEndpoint(
            ...transformed(
                transform.dynamodbEndpoint,
                `${name}-dynamodb`,
                {
                    vpcId: this.vpc.vpcId,
                    serviceName: pulumi.interpolate`com.amazonaws.${region}.dynamodb`,
                    vpcEndpointType: "Gateway",
                    routeTableIds: privateRouteTables.ids,
                    tags,
                },
                { parent: this },
            ),
        );

        this.registerOutputs({ vpcId: this.vpc.vpcId, privateSubnetIds: this.privateSubnetIds, dynamodbEndpointId: this.dynamodbEndpoint.id });
    }
}
