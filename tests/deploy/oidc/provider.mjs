// A local OpenID Connect provider for the tests: `node provider.mjs PORT APP_URL`.
// Any login name signs in (oidc-provider's development login and consent pages); the user's
// email is NAME@example.com and NAME "outsider" is in no allowed group.
import Provider from "oidc-provider";

const [port, appUrl] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "qkatlas",
      client_secret: "qkatlas-test-client-secret",
      redirect_uris: [`${appUrl}/auth/callback`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { email: ["email"], profile: ["name", "groups"] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.com`,
      name: id,
      groups: id === "outsider" ? ["sales"] : ["ml-team"],
    }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["qkatlas-test-cookie-key"] },
});
provider.listen(Number(port), "127.0.0.1", () => console.log(`oidc provider at ${issuer}`));
