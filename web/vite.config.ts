import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The client imports the SDK and shared/ by source (workspace packages whose entry points are
// TypeScript): Vite compiles them into the same bundle, so the page runs the exact validation
// rules and wire decoding the server and the SDK's Node users run.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact({ devToolsEnabled: false, prerender: { enabled: false } })],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npx vite web` during development: the API and rooms come from a running `npm start`
    proxy: {
      "/api": "http://localhost:2567",
      "/matchmake": { target: "http://localhost:2567", ws: true },
      // a room's WebSocket: /<processId>/<roomId>, a 9-character process id and a universe's
      // UUID (no page of the client has a first segment of 9 characters)
      "^/[A-Za-z0-9_-]{9}/[0-9a-f-]{36}(\\?|$)": { target: "http://localhost:2567", ws: true },
    },
  },
});
