import './instrumentation';
import { configureSettlementHttp } from '@upm/settlement';
import { loadConfigOrExit } from '@upm/shared-config';
import { exitOnStartupFailure, runService } from '@upm/shared-runtime';
import { AppModule } from './app.module';
import { configDefinition } from './config';

const config = loadConfigOrExit(configDefinition);
runService(AppModule.register(config), { ...config.http, configure: configureSettlementHttp }).catch(exitOnStartupFailure);
