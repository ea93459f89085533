// Imported before test-env (imports run in order): this test file's server runs stateless.
process.env.REVOCATION_MODE = "stateless";
