/** Who a request is made by, once a session or a JWT has been verified. */
export interface Identity {
    userId: string;
    username?: string;
    roles: string[];
    permissions: string[];
    /** What proved it. */
    method: "session" | "jwt";
}

/** Verifiers answer one of these; `unavailable` means a dependency failed and authentication fails closed (503). */
export type Verification = { status: "valid"; identity: Identity } | { status: "invalid" } | { status: "unavailable" };
