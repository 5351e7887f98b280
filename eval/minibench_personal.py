"""The mini benchmark's personal questions: one maker per LongMemEval question type.

Each maker draws, with the builder's seeded `random.Random`, a `Personal`: the question, its
gold answers and the evidence sessions (chronological) that make it answerable from the
history. `minibench.build_records` deals the types round-robin within each split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .minibench_words import ALLERGIES, BOOK_TITLES, CARS, CLASSES, COMPANIES, CUISINES, DISHES, DRINKS, GENRES, INSTRUMENTS, JOBS, MILESTONES, MUSIC, PEOPLE, PETS, PET_NAMES, PROJECTS, PROJECT_NAMES, RELATIVES, STRETCHES, TOWNS, VETS, WORKOUTS

__all__ = ["PERSONAL_MAKERS", "Personal", "QUESTION_TYPES", "Turns", "a_turn", "plural_alias", "u_turn"]


# ---------------------------------------------------------------------------------------------
# Personal questions. Each maker returns a `Personal`: the question, its answers, and the
# evidence sessions (in chronological order) that make it answerable.
# ---------------------------------------------------------------------------------------------

Turns = list[dict[str, str]]


@dataclass
class Personal:
    question: str
    answers: list[str]
    qtype: str
    evidence: list[Turns]
    # Temporal questions: which evidence session carries the date, and how the answer reads it.
    date_answer: str | None = None  # "dow" (day of the week) or "date"


def u_turn(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def a_turn(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def plural_alias(word: str) -> list[str]:
    if word.endswith("ies"):
        return [word, word[:-3] + "y"]
    if word.endswith("s") and not word.endswith("ss"):
        return [word, word[:-1]]
    return [word]


def _p_pet(rng: random.Random) -> Personal:
    pet, breeds = rng.choice(PETS)
    name, breed = rng.choice(PET_NAMES), rng.choice(breeds)
    user = rng.choice((
        f"We adopted a {breed} {pet} last weekend and named her {name}! What should I buy for the first month?",
        f"My {pet}'s name is {name} and she keeps waking me up at dawn. How can I get her to sleep in?",
        f"Quick one: my {breed} {pet} is called {name}, and her birthday is next week. Ideas for a tiny party?",
        f"I'm away for three days. What should I tell the sitter about my {pet}? Her name is {name}.",
    ))
    reply = rng.choice((
        f"How lovely! For {name}, start with good food, a comfy bed, a few toys and a check-up at the vet.",
        f"{name} sounds like a character. A consistent routine and a bit more play in the evening usually help.",
        f"Write down {name}'s feeding times, favourite treats and the vet's number, and the sitter will be set.",
    ))
    q = rng.choice((f"What is my {pet}'s name?", f"What did I name my {pet}?",
                    f"What's the name of my {pet}?", f"Remind me, what is my {pet} called?"))
    return Personal(q, [name], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_person(rng: random.Random) -> Personal:
    rel, name = rng.choice(RELATIVES), rng.choice(PEOPLE)
    user = rng.choice((
        f"My {rel}'s name is {name}, and they're coming to stay for a week. What could we do together?",
        f"I'm writing a birthday card for my {rel}, whose name is {name}. Can you help with a funny first line?",
        f"My {rel} {name} just ran their first marathon! How should I celebrate with them?",
        f"I need to thank my {rel}, {name}, for helping me move. Any thoughtful gift ideas?",
    ))
    reply = rng.choice((
        f"What a nice thing to plan for {name}! A picnic, a local museum and a cooking night together would be fun.",
        f"Try: 'Happy birthday, {name} — another year of being the best {rel} anyone could ask for!'",
        f"Congratulations to {name}! A celebration dinner and a framed photo of the finish line would be special.",
        f"A handwritten note plus a plant or a favourite snack is a lovely way to thank {name}.",
    ))
    q = rng.choice((f"What is my {rel}'s name?", f"What's the name of my {rel}?",
                    f"Who is my {rel}? Tell me their name."))
    return Personal(q, [name], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_employer(rng: random.Random) -> Personal:
    company, job = rng.choice(COMPANIES), rng.choice(JOBS)
    user = rng.choice((
        f"I just started working at {company} as a {job}. How do I make a good impression in my first month?",
        f"Can you help me write a short bio? I'm a {job} and I work at {company}.",
        f"The company I work for, {company}, is having a dress-up day. Costume ideas for a {job}?",
    ))
    reply = rng.choice((
        f"Congrats on joining {company}! Listen a lot, ask good questions, and deliver one small win early.",
        f"Here's a start: 'A {job} at {company} who loves solving problems and learning new things.'",
        "Go with something simple and fun that colleagues will recognise at a glance.",
    ))
    q = rng.choice(("Which company do I work for?", "Where do I work?",
                    "What's the name of the company I work at?"))
    return Personal(q, [company, company.split()[0]], "single-session-user",
                     [[u_turn(user), a_turn(reply)]])


def _p_hometown(rng: random.Random) -> Personal:
    town = rng.choice(TOWNS)
    user = rng.choice((
        f"My hometown is {town}, a tiny place with one bakery and a lot of sheep. Can you help me write a short poem about it?",
        f"I'm going back to my hometown, {town}, for a school reunion. How do I make small talk after fifteen years?",
        f"I grew up in {town}, my hometown, where everyone knows everyone. How do I build community in a big city?",
    ))
    reply = rng.choice((
        f"Here's an opening: 'In {town} the mornings smelled of bread, and every hill had a name.'",
        f"Ask what people have been up to since {town} days and share a funny memory or two.",
        "Join a local club, say hello to neighbours, and become a regular at one cafe.",
    ))
    q = rng.choice(("Where did I grow up?", "What's the name of my hometown?",
                    "Which town am I originally from?"))
    return Personal(q, [town], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_instrument(rng: random.Random) -> Personal:
    inst = rng.choice(INSTRUMENTS)
    user = rng.choice((
        f"I started taking {inst} lessons last month and my fingers hurt. Is that normal?",
        f"I'm learning the {inst} as an adult and I take lessons on Tuesdays. How often should I practise?",
    ))
    reply = rng.choice((
        f"Totally normal for a new {inst} player. Short daily sessions are better than one long one.",
        f"Twenty minutes a day on the {inst} beats two hours once a week. Keep it fun!",
    ))
    q = rng.choice(("Which instrument am I learning?", "What instrument did I start taking lessons in?"))
    return Personal(q, [inst], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_allergy(rng: random.Random) -> Personal:
    food = rng.choice(ALLERGIES)
    user = rng.choice((
        f"I'm allergic to {food}, so can you suggest a birthday cake I can safely eat?",
        f"Eating out tonight. I have an allergy to {food}. What should I ask the waiter?",
    ))
    reply = rng.choice((
        f"A simple lemon sponge works well; just check every label for {food}.",
        f"Tell them clearly that you're allergic to {food} and ask how dishes are prepared.",
    ))
    q = rng.choice(("What food am I allergic to?", "What am I allergic to?"))
    answers = plural_alias(food) + (["kiwi"] if food == "kiwi fruit" else [])
    return Personal(q, answers, "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_number(rng: random.Random) -> Personal:
    n = rng.randint(101, 989)
    thing, q = rng.choice((
        (f"My new locker at the gym is number {n}", "What is my gym locker number?"),
        (f"I paid {n} dollars for my new bike", "How much did I pay for my new bike?"),
        (f"Our new flat is number {n} on the fourth floor", "What is the number of my new flat?"),
        (f"My seat for the concert is {n}", "What is my seat number for the concert?"),
    ))
    user = rng.choice((f"{thing}. Can you remind me of it later if I ask?",
                       f"{thing}, and I keep forgetting things like this. Any memory tricks?"))
    reply = rng.choice(("Of course. Try linking the number to a date or a picture you know.",
                        "Sure thing. Writing it on a sticky note helps too."))
    return Personal(q, [str(n)], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _p_preference(rng: random.Random) -> Personal:
    kind = rng.randrange(5)
    if kind == 0:
        x = rng.choice(CUISINES)
        user = rng.choice((f"My favourite cuisine is {x} — I could eat it every day. Any dish I can cook at home?",
                           f"Nothing beats {x} food; it's my favourite cuisine. Can you suggest a weekend recipe?"))
        reply = f"Great taste! A classic {x} dish is a fun weekend project; start with the spices."
        q = rng.choice(("What is my favourite cuisine?", "Which cuisine do I love most?"))
    elif kind == 1:
        x = rng.choice(MUSIC)
        user = rng.choice((f"The only music that helps me concentrate is {x}. Can you suggest a study routine?",
                           f"When I work I listen to {x}; it's the music that helps me focus. How long should my focus blocks be?"))
        reply = f"Pairing {x} with 45-minute focus blocks and short breaks works well for many people."
        q = rng.choice(("What kind of music do I like to work to?", "What music helps me concentrate?"))
    elif kind == 2:
        x = rng.choice(WORKOUTS)
        user = rng.choice((f"I've tried everything, but my favourite workout is {x}; it's the only exercise I enjoy. How often should I do it?",
                           f"I love {x} more than any other workout. Should I add anything to it?"))
        reply = f"Two or three sessions of {x} a week plus some stretching is a great balance."
        q = rng.choice(("What kind of exercise do I enjoy most?", "What's my favourite workout?"))
    elif kind == 3:
        x = rng.choice(DRINKS)
        user = rng.choice((f"My usual order at the coffee shop is a {x}. Can I make it at home?",
                           f"I always order a {x} at the café on my way to work. Is that a lot of caffeine?"))
        reply = f"You can make a decent {x} at home with a little practice and good ingredients."
        q = rng.choice(("What's my usual drink order at the café?", "What do I usually order at the coffee shop?"))
    else:
        x = rng.choice(GENRES)
        user = rng.choice((f"The books I like to read most are {x}; I get through one a week. Any tips for finding new authors?",
                           f"Give me {x} over any other kind of book. How do I join a book club that reads them too?"))
        reply = f"Library staff picks and online reading groups are great for discovering {x}."
        q = rng.choice(("What kind of books do I like to read?", "Which genre of books do I prefer?"))
    return Personal(q, plural_alias(x), "single-session-preference", [[u_turn(user), a_turn(reply)]])


def _p_assistant(rng: random.Random) -> Personal:
    kind = rng.randrange(4)
    if kind == 0:
        x = rng.choice(BOOK_TITLES)
        user = rng.choice(("Can you recommend a novel for my beach holiday?", "I need a good novel to read on a long train ride."))
        reply = f"I recommend the novel '{x}'. It's gripping, warm and easy to read in a few sittings."
        q = rng.choice(("What novel did you recommend to me?", "Which book did you suggest I read?"))
    elif kind == 1:
        x = rng.choice(DISHES)
        user = rng.choice(("I'm hosting six friends for a dinner party on Saturday. What should I cook?",
                           "What's an impressive but easy dish for a dinner party?"))
        reply = f"I suggest {x} for your dinner party. It looks impressive and you can prep most of it ahead."
        q = rng.choice(("What dish did you suggest for my dinner party?", "Which recipe did you recommend I cook for my dinner party?"))
    elif kind == 2:
        x = rng.choice(STRETCHES)
        user = rng.choice(("My lower back is stiff from sitting all day. Any stretch you'd recommend?",
                           "Which stretch helps a sore back after a long day at the desk?"))
        reply = f"For your back, I recommend {x}: hold it for thirty seconds, breathe slowly, and repeat three times."
        q = rng.choice(("Which stretch did you recommend for my back?", "What stretch did you tell me to try for my back?"))
    else:
        project = rng.choice(PROJECTS)
        x = rng.choice(PROJECT_NAMES)
        user = f"I'm starting a {project} with some friends and we need a name. Any ideas?"
        reply = f"I suggest the name '{x}' for your {project}. It's short, friendly and easy to remember."
        q = f"What name did you suggest for my {project}?"
    return Personal(q, [x], "single-session-assistant", [[u_turn(user), a_turn(reply)]])


def _p_multi(rng: random.Random) -> Personal:
    rel, name = rng.choice(RELATIVES), rng.choice(PEOPLE)
    first = [u_turn(rng.choice((f"My {rel} is called {name}, and they're the funniest person I know. How do I plan a surprise for them?",
                            f"I want to plan a surprise for my {rel}, {name}. Ideas?"))),
             a_turn(f"A surprise picnic or tickets to something {name} loves would be perfect.")]
    kind = rng.randrange(3)
    if kind == 0:
        company = rng.choice(COMPANIES)
        second = [u_turn(f"Big news: {name} now works at {company}! What's a nice congratulations message?"),
                  a_turn(f"Try: 'So proud of you, {name} — {company} is lucky to have you!'")]
        q = f"Where does my {rel} work now?"
        answers = [company, company.split()[0]]
    elif kind == 1:
        town = rng.choice(TOWNS)
        second = [u_turn(f"{name} just moved to {town}. What's a good housewarming gift to send?"),
                  a_turn("A nice plant, good coffee, or a local map with your favourite spots marked.")]
        q = f"Which town did my {rel} move to?"
        answers = [town]
    else:
        pet, _ = rng.choice(PETS)
        pet_name, vet = rng.choice(PET_NAMES), rng.choice(VETS)
        first = [u_turn(f"My {pet} {pet_name} has been sneezing a lot. Should I be worried?"),
                 a_turn(f"Keep an eye on {pet_name}; if it lasts more than a few days, see a vet.")]
        second = [u_turn(f"Took {pet_name} to the vet, {vet}, today and it's just a mild cold. What should I feed during recovery?"),
                  a_turn(f"Glad {pet_name} is okay! Keep to gentle, familiar food and plenty of water.")]
        q = f"What is the name of my {pet}'s vet?"
        answers = [vet, vet.split()[-1]]
    return Personal(q, answers, "multi-session", [first, second])


def _p_update(rng: random.Random) -> Personal:
    kind = rng.randrange(4)
    if kind == 0:
        old, new = rng.sample(CARS, 2)
        s1 = [u_turn(f"I drive a {old}. How often should I rotate the tyres?"),
              a_turn("Every 8,000 to 10,000 kilometres is a good rule of thumb.")]
        s2 = [u_turn(f"I sold my old {old} and now I drive a {new}! What should I check in the first week?"),
              a_turn(f"Congratulations on the {new}! Read the manual, check tyre pressure and set up the seat properly.")]
        q = rng.choice(("What car do I drive now?", "Which car do I drive these days?"))
        model = new.split(" ", 1)[1]
        answers = [new] + ([model] if model.isalpha() and len(model) > 2 else [])
    elif kind == 1:
        old, new = rng.sample(COMPANIES, 2)
        s1 = [u_turn(f"Work at {old} has been hectic lately. How do I avoid burnout?"),
              a_turn("Protect your evenings, take real lunch breaks and talk to your manager about priorities.")]
        s2 = [u_turn(f"I left my old job and now I work at {new}! Any first-day advice?"),
              a_turn(f"Exciting! Arrive early, learn names, and ask how {new} likes things done.")]
        q = rng.choice(("Where do I work now?", "Which company do I work at now?"))
        answers = [new, new.split()[0]]
    elif kind == 2:
        n1 = rng.randint(5, 11)
        n2 = n1 + rng.randint(2, 6)
        s1 = [u_turn(f"I have {n1} houseplants and some of them are drooping. Tips?"),
              a_turn("Check the soil before watering and move the droopy ones closer to a window.")]
        s2 = [u_turn(f"I couldn't resist buying more, so now I have {n2} houseplants. How do I keep track of watering?"),
              a_turn("A simple watering schedule on your phone or a chart on the fridge works well.")]
        q = rng.choice(("How many houseplants do I have now?", "How many houseplants do I own now?"))
        answers = [str(n2)]
    else:
        old, new = rng.sample(TOWNS, 2)
        s1 = [u_turn(f"I live in {old} and the commute is killing me. Podcast ideas?"),
              a_turn("Try a mix of short news episodes and a long-form story series.")]
        s2 = [u_turn(f"We finally moved! Now we live in {new}. How do I meet the neighbours?"),
              a_turn(f"Welcome to {new}! Knock with a small treat, or join a local group online.")]
        q = rng.choice(("Which town do I live in now?", "Where do I live now?"))
        answers = [new]
    return Personal(q, answers, "knowledge-update", [s1, s2])


def _p_temporal(rng: random.Random) -> Personal:
    if rng.random() < 0.5:
        past, base = rng.choice(MILESTONES)
        user = rng.choice((f"Guess what — I {past} today! How should I celebrate tonight?",
                           f"I {past} today and I'm still buzzing. What's a good way to remember the day?"))
        reply = "Congratulations! Write down how it felt, take a photo, and treat yourself to a nice dinner."
        q = f"On which day of the week did I {base}?"
        return Personal(q, [], "temporal-reasoning", [[u_turn(user), a_turn(reply)]], date_answer="dow")
    cls = rng.choice(CLASSES)
    user = rng.choice((f"I had my very first {cls} class today and loved it! How do I keep the motivation going?",
                       f"Today was day one of my {cls} course. Any beginner tips?"))
    reply = f"Great start! Practise a little between {cls} classes and don't compare yourself to others."
    q = rng.choice((f"On what date did I start my {cls} classes?", f"When did I begin the {cls} course?"))
    return Personal(q, [], "temporal-reasoning", [[u_turn(user), a_turn(reply)]], date_answer="date")


PERSONAL_MAKERS = {
    "single-session-user": (_p_pet, _p_person, _p_employer, _p_hometown, _p_instrument, _p_allergy,
                            _p_number),
    "single-session-preference": (_p_preference,),
    "single-session-assistant": (_p_assistant,),
    "multi-session": (_p_multi,),
    "knowledge-update": (_p_update,),
    "temporal-reasoning": (_p_temporal,),
}
QUESTION_TYPES = tuple(PERSONAL_MAKERS)
