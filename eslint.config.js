import js from "@eslint/js";
import tseslint from "typescript-eslint";

const impureImports = {
  patterns: [
    { group: ["node:*"], message: "shared/ is pure: no Node built-ins." },
    {
      group: [
        "pg",
        "postgres",
        "ioredis",
        "drizzle-orm",
        "drizzle-orm/*",
        "@electric-sql/*",
        "@colyseus/*",
        "express",
        "jose",
      ],
      message: "shared/ is pure: no drivers, network or Colyseus imports.",
    },
  ],
  paths: ["fs", "path", "crypto", "http", "net", "os", "child_process"].map((name) => ({
    name,
    message: "shared/ is pure: no Node built-ins.",
  })),
};

export default tseslint.config(
  {
    ignores: [
      ".tmp/**",
      "coverage/**",
      "node_modules/**",
      "vendor/**",
      "data/**",
      "migrations/**",
      "**/*.js",
      "**/*.mjs",
      "loadtest/k6/**",
      "client-sdk/dist/**",
      "web/dist/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ["shared/**/*.ts"],
    ignores: ["shared/**/*.test.ts", "shared/**/*.bench.ts"],
    rules: {
      "no-restricted-imports": ["error", impureImports],
      "no-restricted-properties": [
        "error",
        {
          object: "Math",
          property: "random",
          message: "shared/ is deterministic: take randomness as an argument.",
        },
        {
          object: "Date",
          property: "now",
          message: "shared/ is deterministic: take the clock as an argument.",
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: "shared/ is deterministic: take the clock as an argument.",
        },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
);
