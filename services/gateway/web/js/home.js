// The start page: links only, in the chosen language.
import { initI18n } from './i18n.js';

initI18n();
