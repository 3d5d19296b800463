import { postImpl } from './action/post-impl.js';

await postImpl();
