import { z } from 'zod';

/**
 * Typed configuration read from the environment once at boot. An app declares the variables it reads in one
 * schema (its `config.ts`) and maps them to the object the rest of the code uses.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigDefinition<TShape extends z.ZodRawShape, TConfig> {
  shape: TShape;
  map: (env: z.output<z.ZodObject<TShape>>) => TConfig;
}

export function defineConfig<TShape extends z.ZodRawShape, TConfig>(
  shape: TShape,
  map: (env: z.output<z.ZodObject<TShape>>) => TConfig,
): ConfigDefinition<TShape, TConfig> {
  return { shape, map };
}

/** Validates every variable and reports all the bad ones at once, naming each key. */
export function loadConfig<TShape extends z.ZodRawShape, TConfig>(
  definition: ConfigDefinition<TShape, TConfig>,
  env: NodeJS.ProcessEnv = process.env,
): TConfig {
  const present = Object.fromEntries(
    Object.keys(definition.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const parsed = z.object(definition.shape).safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return definition.map(parsed.data);
}

/** For main.ts: a bad configuration stops the process with a message naming every bad key. */
export function loadConfigOrExit<TShape extends z.ZodRawShape, TConfig>(
  definition: ConfigDefinition<TShape, TConfig>,
  env: NodeJS.ProcessEnv = process.env,
): TConfig {
  try {
    return loadConfig(definition, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: error.message, problems: error.problems })}\n`);
    process.exit(78);
  }
}
