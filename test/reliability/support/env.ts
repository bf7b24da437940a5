/** Loaded first by the suite's mocha config: quiets the AWS SDK's Node version notice here and in every child process. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
