import { RlError } from "../errors";

// Generated container names: ADJECTIVE_SURNAME, as docker and podman make them, from rl's own lists:
// 113 adjectives and 260 surnames of people who shaped computing, mathematics and science: 29,380
// names. insertContainer (containers-table.ts) draws again when a name is taken.

const ADJECTIVES = `
able agile airy amber ample ardent artful astute balmy blithe bold bouncy brave breezy bright brisk
bubbly buoyant calm candid careful cheerful chipper civil clever cosmic cozy crisp curious daring
dapper deft devoted diligent dreamy eager earnest easy elated elegant epic fabled fearless festive
fluent focused fond frank friendly frosty gallant gentle gifted gleeful glowing graceful grand
hardy hearty helpful honest hopeful humble jaunty jolly jovial joyful keen kind lively loyal lucid
lucky mellow merry mighty modest nimble noble patient peppy placid plucky polite proud quick quiet
radiant rapid ready robust rosy serene sincere snappy spry steady sturdy sunny swift tender thrifty
tidy trusty upbeat valiant vivid warm wise witty zany zealous zesty
`.trim().split(/\s+/);

const SURNAMES = `
abel ada agnesi aiken alhazen allen amdahl ampere anderson appel archimedes aryabhata atanasoff
avogadro babbage bachman backus baran bardeen barton bayes bell berners benz bernoulli bessel
bhabha blackwell bohr boltzmann boole borg bose brahe brattain brooks burroughs cantor cardano
carnot carver cauchy cerf chandra chebyshev chomsky church clarke cocke codd conway cook corbato
coulomb cray curie dahl darwin davies dedekind dennard descartes dijkstra dirac dorsey eckert
edison einstein elgamal engelbart erdos euclid euler faraday feigenbaum fermat fermi feynman
fibonacci floyd fourier franklin fredkin galileo galois gauss germain gibbs godel goldberg
goldwasser goodall gray hamming hartree hawking heaviside hellman hertz hilbert hoare hodgkin
hollerith hopper huffman humboldt huygens hypatia ingalls iverson jacobi jacquard jemison joule
kahan kahn karp kay kelvin kepler kernighan khayyam kilby kildall kleene knuth kolmogorov
kovalevskaya lagrange lamarr lamport laplace leavitt leibniz lempel lewin licklider lindqvist
liskov lovelace lyapunov markov maxwell mccarthy mcclintock meitner mendel merkle metcalfe micali
milner minsky moore morse napier nash naur neumann newell newton noether nygaard ohm ostrom parnas
pascal pauli pearl perlis planck poincare postel pythagoras rabin ramanujan rees ritchie rivest
rosen russell sagan sammet schickard schrodinger scott shamir shannon shaw simon sinclair
snyder somerville spolsky stallman steele stonebraker strachey stroustrup sutherland swartz tarjan
tarski tesla thacker thompson torvalds turing ullman valiant vaughan venn volta wallace watt weizenbaum
wheeler whitney wiener wilkes wing wirth wozniak yao zadeh zuse abrams bartik brin canfield
chu diffie dunn eich fitzgerald gosling hamilton hejlsberg jobs keller lorenz matsumoto pike
raymond rossum sammon spence tanenbaum vixie wall weinberger wolfram zimmermann kobayashi okafor
banerjee haddad novak petrov silva tanaka
`.trim().split(/\s+/);

export function randomName(): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  return `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
}

/** How many names randomName can give (for tests). */
export const NAME_SPACE = new Set(ADJECTIVES).size * new Set(SURNAMES).size;

/**
 * 64 hex digits, as docker's ids: two random UUIDs without their dashes (the first 12, the short id,
 * are all random). Formatting 32 random bytes in JS took ~0.3 ms of every `rl run` (cold code).
 */
export function randomId(): string {
  return `${crypto.randomUUID()}${crypto.randomUUID()}`.replaceAll("-", "");
}

/** podman's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A name given to a container (run --name, rename) follows VALID_NAME. */
export function checkContainerName(name: string): void {
  if (!VALID_NAME.test(name)) throw new RlError(`invalid container name ${JSON.stringify(name)}: use letters, digits, _ . and -, starting with a letter or digit`);
}
