"""The amphora agent: a small mTLS REST server that applies HAProxy configs inside one amphora.

It runs once per amphora, so its memory is multiplied by the number of load
balancers (budget: 20 MiB PSS). Hence the standard library only; of Statera it
imports `statera.protocol.agent_api` and nothing else. Start it with
`python -m statera.agent --config <agent.json>`; `server.ROUTES` is its API.
"""
