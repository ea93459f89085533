// Imported before test-env (imports run in order): this test file's server runs in pushed revocation mode.
process.env.REVOCATION_MODE = "pushed";
