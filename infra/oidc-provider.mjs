// A certified OpenID provider (npm `oidc-provider`) for the local stack and the tests: an institution's
// identity provider with a few people. Its own sign-in form takes any of their logins (the password is not
// checked: it is a local stand-in). Clients register themselves (dynamic registration), so every test
// stack registers its own redirect URI.
//
//   node infra/oidc-provider.mjs PORT
//
// People: ada (verified ada@uni.example), grace (verified grace@uni.example), eve (eve@uni.example, NOT
// verified by the provider), and mallory (verified mallory@elsewhere.example).
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 9400);
const issuer = `http://localhost:${port}`;

const people = {
  ada: { email: 'ada@uni.example', email_verified: true, given_name: 'Ada', family_name: 'Lovelace' },
  grace: { email: 'grace@uni.example', email_verified: true, given_name: 'Grace', family_name: 'Hopper' },
  eve: { email: 'eve@uni.example', email_verified: false, given_name: 'Eve', family_name: 'Unverified' },
  mallory: { email: 'mallory@elsewhere.example', email_verified: true, given_name: 'Mallory', family_name: 'Else' },
};

const configuration = {
  clients: [],
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name'],
  },
  // Claims in the ID token itself, as institutions' providers commonly send them.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => {
    const person = people[id];
    if (!person) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...person }) };
  },
  pkce: { required: () => true },
  cookies: { keys: ['local-oidc-provider-cookie-key'] },
  ttl: { AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider: ${issuer} (people: ${Object.keys(people).join(', ')})`);
});
