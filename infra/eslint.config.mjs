// ESLint for the pages' modules (`shared/web/*.js`): the recommended rules, browser globals for the pages,
// Node's for the unit tests. infra/test.sh runs it (`eslint --config infra/eslint.config.mjs shared/web`).
import js from "@eslint/js";

const browser = Object.fromEntries([
  "document", "window", "location", "history", "navigator", "fetch", "console", "setTimeout", "clearTimeout",
  "URL", "URLSearchParams", "FormData", "PublicKeyCredential", "crypto", "atob", "btoa", "TextEncoder",
  "TextDecoder", "Event", "HTMLElement", "addEventListener", "AbortController", "Blob",
].map((name) => [name, "readonly"]));

export default [
  js.configs.recommended,
  {
    files: ["shared/web/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: browser },
    rules: { "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }] },
  },
  {
    files: ["shared/web/**/*.test.js"],
    languageOptions: { globals: { process: "readonly" } },
  },
];
