/**
 * The AWS SDK's Node.js version warning (NodeVersionSupportWarning, nine
 * lines on stderr) and tollgate's own one-line notice, as a command's output
 * shows them.
 */

/** The SDK's own switch for the warning; each command decides about it itself. */
export const sdkWarningSwitch = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * Environment overrides for a child command: the SDK's switch left unset
 * (undefined drops it from the child's environment), whatever the test
 * process has, so only the command under test can silence the warning.
 */
export const withoutSdkWarningSwitch: NodeJS.ProcessEnv = { [sdkWarningSwitch]: undefined };

/** The lines of `output` that speak of the Node.js version: the SDK's warning, or tollgate's notice. */
export function nodeVersionLines(output: string): string[] {
    return output.split("\n").filter((line) => /Node\.js|NodeVersionSupportWarning|node >=/.test(line));
}

/** True where the SDK warns at all: Node.js before 22. */
export const sdkWarnsHere = Number(process.versions.node.split(".")[0]) < 22;
