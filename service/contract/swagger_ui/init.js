// Renders /api/openapi.json with the vendored Swagger UI (no inline script: the page's
// Content-Security-Policy allows scripts from this origin only).
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // no call to validator.swagger.io
});
