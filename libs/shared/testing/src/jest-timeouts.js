// Jest reads testTimeout only from the global config; the tiers that talk to real services set theirs here.
jest.setTimeout(Number(process.env.TEST_TIMEOUT_MS ?? 60_000));
