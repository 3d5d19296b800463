import { mainImpl } from './action/main-impl.js';

await mainImpl();
