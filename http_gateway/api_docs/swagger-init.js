// Swagger UI's start, in a file of ours rather than inline: the page's policy allows scripts from this
// origin only. FastAPI's own settings (BaseLayout, deep links), and no online validator badge: its image
// would be fetched from another site.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
