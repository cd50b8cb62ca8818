"""Available agents indexed by requirement, best first, so the router never scans every agent per call."""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import Agent, Candidate

# (skill, minimum proficiency, language or None for any). A minimum of 0 admits every agent, ranked by the
# skill: that is how the safety widening lists "any available agent".
Requirement = tuple[str, int, str | None]


def meets(agent: Agent, requirement: Requirement) -> bool:
    """Whether the agent has the skill at the minimum proficiency and speaks the language, if one is asked."""
    skill, minimum, language = requirement
    return agent.skills.get(skill, 0) >= minimum and (language is None or language in agent.languages)


class Pool:
    """Agents meeting one requirement, best first: proficiency in the skill, then longest idle, then id.

    Taken agents are skipped through `skip` pointers that are shortened on every walk (path compression),
    so walking a pool after many agents were taken costs about as much as walking a fresh one.
    """

    __slots__ = ("members", "skip", "head", "skill", "free")

    def __init__(self, skill: str, members: list[int]):
        self.skill = skill
        self.members = members
        self.skip = list(range(1, len(members) + 1))
        self.head = 0
        self.free = len(members)  # members not taken yet


class AgentIndex:
    """The available agents of one routing moment, their pools, and which of them are already taken."""

    def __init__(self, agents: Sequence[Agent]):
        self.agents = [agent for agent in agents if agent.available]
        self.taken = bytearray(len(self.agents))
        self.remaining = len(self.agents)
        self._by_skill: dict[str, list[int]] = {}
        self._pools: dict[Requirement, Pool] = {}
        self._member_of: list[list[Pool]] = [[] for _ in self.agents]  # to keep each pool's `free` count
        # An agent is a runner-up in many pairings of one moment; their (frozen) Candidate is built once.
        self._candidates: dict[tuple[int, str], Candidate] = {}

    def pool(self, requirement: Requirement) -> Pool:
        """The pool for a requirement, built on first use from the skill's ranked list."""
        found = self._pools.get(requirement)
        if found is None:
            skill = requirement[0]
            agents, taken = self.agents, self.taken
            members = [i for i in self._ranked(skill) if not taken[i] and meets(agents[i], requirement)]
            found = self._pools[requirement] = Pool(skill, members)
            for i in members:
                self._member_of[i].append(found)
        return found

    def _ranked(self, skill: str) -> list[int]:
        ranked = self._by_skill.get(skill)
        if ranked is None:
            agents = self.agents
            ranked = sorted(
                range(len(agents)),
                key=lambda i: (-agents[i].skills.get(skill, 0), agents[i].idle_since, agents[i].id),
            )
            self._by_skill[skill] = ranked
        return ranked

    def next_free(self, pool: Pool, position: int) -> int:
        """The first position at or after `position` whose agent is not taken (len(members) if none)."""
        members, skip, taken = pool.members, pool.skip, self.taken
        end = len(members)
        found = position
        while found < end and taken[members[found]]:
            found = skip[found]
        while position < found:  # shorten the path just walked
            following = skip[position]
            skip[position] = found
            position = following
        return found

    def first_free(self, pool: Pool) -> int:
        """The position of the pool's best agent not taken (len(members) if none), remembered as its head."""
        pool.head = self.next_free(pool, pool.head)
        return pool.head

    def candidate(self, agent: int, skill: str) -> Candidate:
        """The agent as a candidate ranked by `skill`."""
        found = self._candidates.get((agent, skill))
        if found is None:
            who = self.agents[agent]
            found = self._candidates[agent, skill] = Candidate(
                who.id, who.skills.get(skill, 0), who.idle_since
            )
        return found

    def take(self, agent: int) -> None:
        """Mark an agent as paired: no pool offers them again."""
        self.taken[agent] = 1
        self.remaining -= 1
        for pool in self._member_of[agent]:
            pool.free -= 1
