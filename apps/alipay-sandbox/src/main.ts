import './instrumentation';
import { loadConfigOrExit } from '@upm/shared-config';
import { configureSandboxHttp } from '@upm/sandbox';
import { exitOnStartupFailure, runService } from '@upm/shared-runtime';
import { AppModule } from './app.module';
import { configDefinition } from './config';

const config = loadConfigOrExit(configDefinition);
runService(AppModule.register(config), { ...config.http, configure: configureSandboxHttp }).catch(exitOnStartupFailure);
