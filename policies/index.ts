/**
 * The tollgate CrossGuard policy pack: `pulumi preview --policy-pack policies
 * --policy-pack-config policies/config/<stack>.json`. The policies live in
 * ./rules; this file only serves them.
 */
import { PolicyPack } from "@pulumi/policy";
import { packDescription, packEnforcementLevel, packName, tollgatePolicies } from "./rules";

new PolicyPack(packName, {
    description: packDescription,
    enforcementLevel: packEnforcementLevel,
    policies: tollgatePolicies,
});
