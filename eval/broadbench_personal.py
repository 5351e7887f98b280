"""The broad calibration set's personal questions: shapes the mini benchmark never asks.

The mini benchmark's personal questions all say "my", "I" or "me" and ask about the user. Real
users also ask about the people, pets, places and plans in their history, by name, with no
first-person pronoun, as yes/no or how-many questions, and expect places, dates, people and
numbers back. Each maker here draws, with the builder's seeded `random.Random`, a `Personal`
(question, gold answers, evidence sessions) plus the shape tags that the data card counts:

- ``third_party``: about someone or something other than the user (a relative, a colleague, a pet);
- ``no_pronoun``: the question has no first-person pronoun;
- ``yes_no``, ``how_many``, ``when``, ``where``, ``who``, ``which``, ``what``: the question form;
- ``remind``: "remind me ..." phrasing;
- ``answer:<kind>``: place, date, person, number, thing, yes/no.

The word lists live in `broadbench_words`; none of them come from the hand-written dev set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .broadbench_words import (BREEDS, CITIES, COLOURS, COUNTRIES, DOCTORS, EVENTS, FIRST_NAMES, FOODS, HOBBY_SPORTS,
                               HOTELS, INSTRUMENTS, KIN, MEDICINES, MEETING_PLACES, PET_NAMES, PET_KINDS, SUBJECTS,
                               TIMES, VEHICLES, WORKPLACES)
from .minibench_personal import Turns, a_turn, u_turn

__all__ = ["BROAD_MAKERS", "BroadPersonal", "NUMBER_WORDS", "has_first_person"]

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                10: "ten", 11: "eleven", 12: "twelve", 14: "fourteen", 15: "fifteen", 18: "eighteen",
                20: "twenty", 25: "twenty-five", 30: "thirty", 40: "forty"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|we|us|our|ours|i'm|i've|i'd|i'll)\b", re.IGNORECASE)


def has_first_person(text: str) -> bool:
    """True if `text` has a first-person pronoun (singular or plural)."""
    return bool(_FIRST_PERSON.search(text.replace("\u2019", "'")))


@dataclass
class BroadPersonal:
    """A personal question of the broad set (see the module docstring for `tags`)."""

    question: str
    answers: list[str]
    qtype: str
    evidence: list[Turns]
    tags: list[str] = field(default_factory=list)
    date_answer: str | None = None  # kept for `minibench._build_user`; the broad set states dates in text


def _finish(q: str, tags: list[str], answers: list[str], qtype: str, evidence: list[Turns]) -> BroadPersonal:
    tags = list(tags)
    if not has_first_person(q):
        tags.append("no_pronoun")
    if q.lower().startswith("remind me") or "remind me" in q.lower():
        tags.append("remind")
    return BroadPersonal(q, answers, qtype, evidence, sorted(set(tags)))


def _kin_place(rng: random.Random) -> BroadPersonal:
    rel, name, city = rng.choice(KIN), rng.choice(FIRST_NAMES), rng.choice(CITIES)
    user = rng.choice((
        f"My {rel} {name} finally moved to {city} last month. What's a good housewarming present to post?",
        f"{name}, my {rel}, lives in {city} now and I'm visiting in the autumn. What should I pack?",
        f"Big news: my {rel} {name} got a flat in {city}! How do I help with the move from far away?",
        f"I miss my {rel} {name} since the move to {city}. Any ideas to stay close across the distance?",
    ))
    reply = rng.choice((
        f"How exciting for {name}! A framed local map or a good coffee grinder travels well.",
        f"Layers and comfortable shoes are always safe for {city}; check the forecast a week before.",
        f"Regular video calls and a shared playlist help a lot. {name} will appreciate it.",
    ))
    q, tags = rng.choice([
        (f"Where does my {rel} live?", ["where", "third_party"]),
        (f"Which city does {name} live in now?", ["which", "third_party"]),
        (f"Where did {name} move to?", ["where", "third_party"]),
        (f"Remind me, which city is my {rel} in these days?", ["which", "third_party"]),
        (f"In which city is {name}'s new flat?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:place"], [city], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _kin_instrument(rng: random.Random) -> BroadPersonal:
    rel, name, inst = rng.choice(KIN), rng.choice(FIRST_NAMES), rng.choice(INSTRUMENTS)
    user = rng.choice((
        f"My {rel} {name} teaches {inst} to kids on Saturdays. What's a nice thank-you gift for a music teacher?",
        f"{name} (my {rel}) has started giving {inst} lessons from home. How should they price them?",
        f"Proud moment: my {rel} {name} now teaches {inst} at the community school.",
    ))
    reply = rng.choice((
        f"A good {inst} case or sheet-music voucher would be lovely for {name}.",
        "Check local rates, offer a trial lesson, and give a small discount for blocks of ten.",
        f"That's wonderful! Teaching {inst} is a real gift to a community.",
    ))
    q, tags = rng.choice([
        (f"Which instrument does {name} teach?", ["which", "third_party"]),
        (f"What does my {rel} teach?", ["what", "third_party"]),
        (f"What instrument does {name} give lessons on?", ["what", "third_party"]),
        (f"Remind me what my {rel} teaches on Saturdays.", ["what", "third_party"]),
    ])
    return _finish(q, tags + ["answer:thing"], [inst], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _pet_breed(rng: random.Random) -> BroadPersonal:
    kind = rng.choice(PET_KINDS)
    pet, breed = rng.choice(PET_NAMES), rng.choice(BREEDS[kind])
    user = rng.choice((
        f"{pet} is our new {breed}, ten weeks old. How often should a {kind} that young eat?",
        f"We finally brought home {pet}, a {breed}! What toys are safe for a {kind}?",
        f"Our {breed} {pet} chewed the sofa again. How do I stop that?",
    ))
    reply = rng.choice((
        f"Small meals three or four times a day suit a young {kind} like {pet}.",
        f"Rubber chew toys and puzzle feeders are great for {pet}.",
        f"Give {pet} more exercise and something allowed to chew; praise the right choice.",
    ))
    q, tags = rng.choice([
        (f"What breed is {pet}?", ["what", "third_party"]),
        (f"What kind of {kind} is {pet}?", ["what", "third_party"]),
        (f"Remind me what breed my {kind} is.", ["what", "third_party"]),
        (f"Which breed did we get when we adopted {pet}?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:thing"], [breed], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _allergy_yes(rng: random.Random) -> BroadPersonal:
    name, food = rng.choice(FIRST_NAMES), rng.choice(FOODS)
    rel = rng.choice(KIN)
    user = rng.choice((
        f"My {rel} {name} is allergic to {food}, and they're coming for dinner on Friday. What can I cook?",
        f"Planning a picnic with {name}, who has a {food} allergy. Any safe snack ideas?",
        f"{name} reacted badly to {food} again, so it's confirmed: a real allergy. How do I read labels properly?",
    ))
    reply = rng.choice((
        f"Keep the menu simple and check every label for {food}; a roast vegetable tray is a safe bet.",
        f"Fruit, crackers you've checked, and homemade dips are easy to keep free of {food}.",
        f"Look for 'may contain' lines too; {food} can hide in sauces and baked goods.",
    ))
    q, tags = rng.choice([
        (f"Is {name} allergic to {food}?", ["yes_no", "third_party"]),
        (f"Does my {rel} have a {food} allergy?", ["yes_no", "third_party"]),
        (f"Can {name} safely eat {food}?", ["yes_no", "third_party"]),
    ])
    answers = ["no"] if q.startswith("Can ") else ["yes"]
    return _finish(q, tags + ["answer:yes_no"], answers, "single-session-user", [[u_turn(user), a_turn(reply)]])


def _count(rng: random.Random) -> BroadPersonal:
    n = rng.choice(sorted(NUMBER_WORDS))
    event, name = rng.choice(EVENTS), rng.choice(FIRST_NAMES)
    user = rng.choice((
        f"We're hosting {name}'s {event} and {n} guests have said yes. How much food should I plan?",
        f"Final count for the {event}: {n} people, {name} included. Can you help with a seating plan?",
        f"{n} people are coming to {name}'s {event} on Saturday. What games work for a group that size?",
    ))
    reply = rng.choice((
        "Plan on a main, two sides and a dessert, with a little extra for seconds.",
        "Mix people who know each other with a few who don't, and put the host in the middle.",
        "A quiz and a simple card game keep a group of that size busy.",
    ))
    q, tags = rng.choice([
        (f"How many guests are coming to the {event}?", ["how_many"]),
        (f"How many people are invited to {name}'s {event}?", ["how_many", "third_party"]),
        (f"Remind me how many people said yes to the {event}.", ["how_many"]),
    ])
    return _finish(q, tags + ["answer:number"], [str(n), NUMBER_WORDS[n]], "single-session-user",
                   [[u_turn(user), a_turn(reply)]])


def _event_date(rng: random.Random) -> BroadPersonal:
    name, event = rng.choice(FIRST_NAMES), rng.choice(EVENTS)
    month, day = rng.choice(_MONTHS), rng.randint(2, 27)
    user = rng.choice((
        f"{name}'s {event} is on {month} {day}, and I'm in charge of the cake. Which flavours go down well?",
        f"Save the date: {month} {day} is {name}'s {event}. What should I wear?",
        f"The {event} for {name} got moved to {month} {day}. How do I tell everyone politely?",
    ))
    reply = rng.choice((
        "Lemon and vanilla are crowd-pleasers; chocolate for the bold.",
        "Smart casual is the safe choice unless the invitation says otherwise.",
        "A short friendly message with the new date and a thank-you for flexibility works well.",
    ))
    q, tags = rng.choice([
        (f"When is {name}'s {event}?", ["when", "third_party"]),
        (f"What date is the {event}?", ["what"]),
        (f"Remind me, when is the {event} for {name}?", ["when", "third_party"]),
        (f"On which day of which month is {name}'s {event}?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:date"], [f"{month} {day}", f"{day} {month}"], "single-session-user",
                   [[u_turn(user), a_turn(reply)]])


def _role_person(rng: random.Random) -> BroadPersonal:
    role, place = rng.choice(WORKPLACES)
    name = rng.choice(FIRST_NAMES + DOCTORS) if role in ("doctor", "dentist", "GP") else rng.choice(FIRST_NAMES)
    user = rng.choice((
        f"My new {role} at the {place} is {name}. How do I make a good first impression?",
        f"{name} is the {role} at the {place} now. Should I email them before my first appointment?",
        f"Switching to a new {role} today: {name}, at the {place}. What questions should I ask?",
    ))
    reply = rng.choice((
        "Be on time, come prepared with a short list, and follow up with a thank-you.",
        f"A short, friendly email introducing yourself to {name} is a good idea.",
        "Ask about expectations, how they like to communicate, and what a good first month looks like.",
    ))
    q, tags = rng.choice([
        (f"Who is my {role}?", ["who", "third_party"]),
        (f"Who is the {role} at the {place}?", ["who", "third_party"]),
        (f"What's the name of the new {role}?", ["what", "third_party"]),
        (f"Remind me who the {role} at the {place} is.", ["who", "third_party"]),
    ])
    return _finish(q, tags + ["answer:person"], [name, name.split()[-1]], "single-session-user",
                   [[u_turn(user), a_turn(reply)]])


def _hotel(rng: random.Random) -> BroadPersonal:
    hotel, city = rng.choice(HOTELS), rng.choice(CITIES)
    user = rng.choice((
        f"We booked the {hotel} in {city} for our anniversary weekend. Any romantic dinner ideas nearby?",
        f"Booking confirmed: three nights at the {hotel}, {city}. What should we not miss?",
        f"The conference put us up at the {hotel} in {city}. Is it worth renting a car there?",
    ))
    reply = rng.choice((
        "Look for a small place with a view and book a table a week ahead.",
        "An old-town walk, a market morning and one museum make a good three-day mix.",
        "Public transport is usually enough in the centre; rent a car only for day trips.",
    ))
    q, tags = rng.choice([
        ("Remind me, which hotel did we book?", ["which"]),
        (f"Which hotel is the {city} trip at?", ["which"]),
        ("What is the name of the hotel for the anniversary weekend?", ["what"]),
        (f"Where are we staying in {city}?", ["where"]),
    ])
    return _finish(q, tags + ["answer:place"], [hotel, hotel.replace("The ", "")], "single-session-user",
                   [[u_turn(user), a_turn(reply)]])


def _hobby_sport(rng: random.Random) -> BroadPersonal:
    rel, name, sport = rng.choice(KIN), rng.choice(FIRST_NAMES), rng.choice(HOBBY_SPORTS)
    user = rng.choice((
        f"My {rel} {name} plays {sport} every Sunday morning and wants new gear for a birthday. Ideas?",
        f"{name} has joined a {sport} club! My {rel} is so happy about it. How can I support them?",
        f"Every week my {rel} {name} drags me along to {sport}. How do I get less sore afterwards?",
    ))
    reply = rng.choice((
        f"Good socks and a quality bag are always welcome for {sport}.",
        f"Go and watch a session; {name} will love the support.",
        "Stretch after, drink water, and build up slowly.",
    ))
    q, tags = rng.choice([
        (f"Which sport does {name} play on Sundays?", ["which", "third_party"]),
        (f"What sport does my {rel} play?", ["what", "third_party"]),
        (f"Which club did {name} join?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:thing"], [sport], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _friend_country(rng: random.Random) -> BroadPersonal:
    rel, name, country = rng.choice(KIN), rng.choice(FIRST_NAMES), rng.choice(COUNTRIES)
    user = rng.choice((
        f"My {rel} {name} is from {country} and is homesick. What dish could I cook to cheer them up?",
        f"{name}, who grew up in {country}, is teaching me a few words of the language. Any tips for practising?",
        f"I'm throwing a surprise party for {name}, my {rel} from {country}. Decoration ideas?",
    ))
    reply = rng.choice((
        f"Ask {name} for a family recipe and cook it together; that means more than perfection.",
        "Short daily sessions and labelling things at home help a lot.",
        "Flags, photos of home and a favourite song from childhood make it personal.",
    ))
    q, tags = rng.choice([
        (f"Which country is {name} from?", ["which", "third_party"]),
        (f"Where did my {rel} grow up?", ["where", "third_party"]),
        (f"What country does {name} come from?", ["what", "third_party"]),
    ])
    return _finish(q, tags + ["answer:place"], [country], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _vehicle_colour(rng: random.Random) -> BroadPersonal:
    name, colour, vehicle = rng.choice(FIRST_NAMES), rng.choice(COLOURS), rng.choice(VEHICLES)
    user = rng.choice((
        f"{name} just bought a {colour} {vehicle} and is picking me up tomorrow. Is it rude to ask about fuel money?",
        f"My neighbour {name} keeps parking that {colour} {vehicle} across my drive. How do I bring it up nicely?",
    ))
    reply = rng.choice((
        "Offering to split the cost up front is considerate and rarely awkward.",
        f"A calm, friendly word with {name} usually solves it; a note is the fallback.",
    ))
    q, tags = rng.choice([
        (f"What colour is {name}'s {vehicle}?", ["what", "third_party"]),
        (f"What kind of vehicle does {name} have?", ["what", "third_party"]),
    ])
    answers = [colour] if q.startswith("What colour") else [vehicle, vehicle.split()[-1]]
    return _finish(q, tags + ["answer:thing"], answers, "single-session-user", [[u_turn(user), a_turn(reply)]])


def _shift_time(rng: random.Random) -> BroadPersonal:
    time, place = rng.choice(TIMES), rng.choice(WORKPLACES)[1]
    user = rng.choice((
        f"New rota at the {place}: my shift starts at {time} every weekday now. How do I fix my sleep?",
        f"From next week the {place} wants me in at {time}. What breakfast keeps me going?",
    ))
    reply = rng.choice((
        "Keep the same wake-up time every day, even on days off, and get light early.",
        "Oats with fruit and a protein like yoghurt or eggs will carry you through the morning.",
    ))
    q, tags = rng.choice([
        ("What time does the shift start?", ["what"]),
        ("When do I have to be at work now?", ["when"]),
        (f"Remind me what time the {place} wants me in.", ["what"]),
    ])
    return _finish(q, tags + ["answer:number"], [time, time.split()[0]], "single-session-user",
                   [[u_turn(user), a_turn(reply)]])


def _conference_city(rng: random.Random) -> BroadPersonal:
    what, city = rng.choice(MEETING_PLACES), rng.choice(CITIES)
    user = rng.choice((
        f"The {what} this year is in {city}. What's the best way to prepare a ten-minute talk?",
        f"Just got accepted to the {what} in {city}! How early should I book flights?",
    ))
    reply = rng.choice((
        "Write the three points you want people to remember, then build the slides around them.",
        "Six to eight weeks ahead is usually the sweet spot for prices.",
    ))
    q, tags = rng.choice([
        (f"Which city is the {what} in?", ["which"]),
        (f"Where is the {what} this year?", ["where"]),
        (f"Where will the {what} take place?", ["where"]),
    ])
    return _finish(q, tags + ["answer:place"], [city], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _pet_medicine(rng: random.Random) -> BroadPersonal:
    kind = rng.choice(PET_KINDS)
    pet, med = rng.choice(PET_NAMES), rng.choice(MEDICINES)
    user = rng.choice((
        f"The vet put {pet} on {med} twice a day. How do I get a {kind} to take a pill?",
        f"{pet} started {med} this week for the itching. Is it normal that our {kind} sleeps more?",
    ))
    reply = rng.choice((
        "Hide it in a small treat, or ask the vet about a liquid form.",
        "Some tiredness can be normal early on; call the vet if it lasts or worsens.",
    ))
    q, tags = rng.choice([
        (f"What medicine is {pet} taking?", ["what", "third_party"]),
        (f"Which medication did the vet give {pet}?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:thing"], [med], "single-session-user", [[u_turn(user), a_turn(reply)]])


def _kin_subject_update(rng: random.Random) -> BroadPersonal:
    """Knowledge update: the relative's study subject changes; the later session wins."""
    rel, name = rng.choice(KIN), rng.choice(FIRST_NAMES)
    old, new = rng.sample(SUBJECTS, 2)
    first = [u_turn(f"My {rel} {name} starts a degree in {old} in September. Any advice for a first-year student?"),
             a_turn("Go to the first lectures, find a study group early, and sleep.")]
    second = [u_turn(f"Update: {name} switched from {old} to {new} after the first term and loves it. "
                     "Should I get them a book as a congratulations?"),
              a_turn(f"Yes! A well-loved introduction to {new} would be a thoughtful gift.")]
    q, tags = rng.choice([
        (f"What does {name} study now?", ["what", "third_party"]),
        (f"Which subject is my {rel} studying these days?", ["which", "third_party"]),
    ])
    return _finish(q, tags + ["answer:thing"], [new], "knowledge-update", [first, second])


BROAD_MAKERS: tuple[Callable[[random.Random], BroadPersonal], ...] = (
    _kin_place, _kin_instrument, _pet_breed, _allergy_yes, _count, _event_date, _role_person, _hotel,
    _hobby_sport, _friend_country, _vehicle_colour, _shift_time, _conference_city, _pet_medicine,
    _kin_subject_update)
