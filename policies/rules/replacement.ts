/**
 * Replacement policy: what a change that replaces a resource will do, read
 * from the resource options the program sets, since a policy sees the
 * resources a deployment will have and never the diff that leads there.
 *
 * A resource tollgate gives a fixed physical name cannot be replaced
 * create-before-delete: AWS refuses a second function, role, log group or
 * table replica of the name while the first exists. For the kinds that hold
 * no data, tollgate deletes the old one first (`deleteBeforeReplace`); this
 * policy holds its components to that. Tables, which hold data, are protected
 * instead (`dynamodb-protect`), and backup vaults are named after their key and
 * retained, which a policy cannot see (PolicyResourceOptions carries no
 * `retainOnDelete`).
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationArgs, type ResourceValidationPolicy } from "@pulumi/policy";
import { madeByTollgate, resourceLabel } from "./describe";

/** The option as a message asks for it, and why a tollgate resource has it. */
function deleteFirst(args: ResourceValidationArgs, physicalName: unknown, what: string, reportViolation: (message: string) => void) {
    if (!madeByTollgate(args.urn)) args.notApplicable("not a resource of a tollgate component");
    if (args.opts.deleteBeforeReplace === true) return;
    reportViolation(
        `${resourceLabel(args.type, args.name, physicalName)}: ${what}, and it is not deleted before its replacement, so a change that replaces it would fail creating the second one; ` +
            "set the resource option deleteBeforeReplace: true (tollgate's components set it: a transform that changes opts.deleteBeforeReplace undoes it).",
    );
}

export const fixedNameDeleteBeforeReplace: ResourceValidationPolicy = {
    name: "fixed-name-delete-before-replace",
    description:
        "Resources of tollgate's components with a fixed physical name and no data (Lambda function, IAM roles, log groups, table replicas) set deleteBeforeReplace, so a replacement deletes the old one before making the new one of the same name.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(aws.lambda.Function, (fn, args, reportViolation) => {
            if (!fn.name) args.notApplicable("auto-named: a replacement gets a name of its own");
            deleteFirst(args, fn.name, "its name is fixed", reportViolation);
        }),
        validateResourceOfType(aws.iam.Role, (role, args, reportViolation) => {
            if (!role.name) args.notApplicable("auto-named: a replacement gets a name of its own");
            deleteFirst(args, role.name, "its name is fixed", reportViolation);
        }),
        validateResourceOfType(aws.cloudwatch.LogGroup, (logGroup, args, reportViolation) => {
            if (!logGroup.name) args.notApplicable("auto-named: a replacement gets a name of its own");
            deleteFirst(args, logGroup.name, "its name is fixed", reportViolation);
        }),
        validateResourceOfType(aws.dynamodb.TableReplica, (replica, args, reportViolation) => {
            deleteFirst(args, undefined, `a region holds one replica of a table (${replica.region ?? "its region"})`, reportViolation);
        }),
    ],
};
