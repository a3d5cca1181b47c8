import { createApp } from '../lib/app.js';

createApp().app.synth();
