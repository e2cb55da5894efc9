// The app is served by Vite; calls, signaling and the avatar's loops go to the avatarcall
// server (AVATARCALL_URL, default http://127.0.0.1:8080), so the page and the server share an
// origin as the browser sees it — as in production behind one reverse proxy.
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const target = process.env.AVATARCALL_URL ?? 'http://127.0.0.1:8080';
const proxy = {
  '/api': { target },
  '/avatar': { target },
  '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
};

export default defineConfig({
  plugins: [vue()],
  server: { proxy },
  preview: { proxy },
});
