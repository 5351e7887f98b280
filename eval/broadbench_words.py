"""Word lists of the broad calibration set (`broadbench`): facts and personal-question parts.

Pure data. `BROAD_FACT_TABLE` uses the mini benchmark's row format (id | category | question |
answers | subject | wrong belief | topic) and keeps only facts that the default model answered
correctly in a history-free greedy probe at two current dates (`python -m fpps.eval.broadbench
probe`; the counts are in `data/README.md`). None of these lists were taken from the hand-written
dev set. Changing any list changes the bundled file, which `broadbench build` must regenerate.
"""

from __future__ import annotations

__all__ = ["BREEDS", "BROAD_FACT_TABLE", "CANDIDATE_FACT_TABLE", "DEV_OVERLAP", "PROBE_WRONG", "CITIES", "COLOURS", "COUNTRIES", "DOCTORS",
           "EVENTS", "FACTUAL_FRAMES", "FIRST_NAMES", "FOODS", "HOBBY_SPORTS", "HOTELS", "INSTRUMENTS", "KIN",
           "MEDICINES", "MEETING_PLACES", "PET_KINDS", "PET_NAMES", "SUBJECTS", "TIMES", "VEHICLES", "WORKPLACES"]

CANDIDATE_FACT_TABLE = """
num-oct|number|How many sides does an octagon have?|8;eight|the number of sides of an octagon|six|octagons
num-pent|number|How many sides does a pentagon have?|5;five|the number of sides of a pentagon|six|pentagons
num-sq|number|How many sides does a square have?|4;four|the number of sides of a square|five|squares
num-cube|number|How many faces does a cube have?|6;six|the number of faces of a cube|eight|cubes
num-right|number|How many degrees are in a right angle?|90;ninety|the number of degrees in a right angle|180|right angles
num-tri180|number|How many degrees do the angles of a triangle add up to?|180|the sum of the angles of a triangle|360|triangle angles
num-circ|number|How many degrees are in a full circle?|360|the number of degrees in a full circle|180|circles
num-cent|number|How many years are in a century?|100;hundred|the number of years in a century|1000|centuries
num-dec|number|How many years are in a decade?|10;ten|the number of years in a decade|twelve|decades
num-mill|number|How many years are in a millennium?|1000;thousand|the number of years in a millennium|100|millennia
num-leap|number|How many days are in a leap year?|366|the number of days in a leap year|365|leap years
num-year|number|How many months are in a year?|12;twelve|the number of months in a year|ten|calendars
num-hourmin|number|How many minutes are in an hour?|60;sixty|the number of minutes in an hour|100|clocks
num-pi|number|What is the value of pi to two decimal places?|3.14|the value of pi to two decimal places|3.41|pi
num-prime|number|What is the smallest prime number?|2;two|the smallest prime number|1|prime numbers
num-sqrt|number|What is the square root of 81?|9;nine|the square root of 81|8|square roots
num-score|number|How many years is a score?|20;twenty|the number of years in a score|ten|old words for numbers
num-gross|number|How many items are in a gross?|144|the number of items in a gross|100|old counting words
num-cards|number|How many cards are in a standard deck without jokers?|52;fifty-two|the number of cards in a standard deck|54|playing cards
num-dice|number|How many faces does a standard die have?|6;six|the number of faces of a standard die|eight|dice
num-piano|number|How many keys does a standard piano have?|88;eighty-eight|the number of keys on a standard piano|76|pianos
num-roman|number|Which number does the Roman numeral X stand for?|10;ten|the number the Roman numeral X stands for|five|Roman numerals
num-romanl|number|Which number does the Roman numeral L stand for?|50;fifty|the number the Roman numeral L stands for|100|Roman numerals
num-cont|number|How many continents are there?|7;seven|the number of continents|five|continents
num-planets|number|How many planets are in our solar system?|8;eight|the number of planets in our solar system|nine|the planets
num-bones|number|How many bones are in the adult human body?|206|the number of bones in the adult human body|300|the skeleton
num-teeth|number|How many teeth does an adult human usually have?|32;thirty-two|the number of teeth of an adult human|28|teeth
num-strings|number|How many strings does a standard guitar have?|6;six|the number of strings on a standard guitar|five|guitars
num-hept|number|How many sides does a heptagon have?|7;seven|the number of sides of a heptagon|nine|heptagons
num-ounce|number|How many ounces are in a pound?|16;sixteen|the number of ounces in a pound|12|imperial weights
num-feet|number|How many inches are in a foot?|12;twelve|the number of inches in a foot|ten|imperial lengths
num-yard|number|How many feet are in a yard?|3;three|the number of feet in a yard|four|imperial lengths
num-mile|number|How many meters are in a kilometer?|1000;thousand|the number of meters in a kilometer|100|metric lengths
num-ml|number|How many milliliters are in a liter?|1000;thousand|the number of milliliters in a liter|100|metric volumes
spo-soc|sport|How many players does a soccer team have on the field?|11;eleven|the number of players a soccer team has on the field|ten|soccer
spo-bask|sport|How many players does a basketball team have on the court?|5;five|the number of players a basketball team has on the court|six|basketball
spo-golf|sport|In which sport do players try to get a hole in one?|golf|the sport of the hole in one|tennis|hole in one
spo-wim|sport|Which sport is played at Wimbledon?|tennis|the sport played at Wimbledon|cricket|Wimbledon
spo-tdf|sport|The Tour de France is a race in which sport?|cycling;bike;bicycle|the sport of the Tour de France|running|the Tour de France
spo-sumo|sport|Sumo wrestling is the national sport of which country?|Japan|the home country of sumo wrestling|China|sumo wrestling
spo-ring|sport|In which sport do boxers fight?|boxing|the sport boxers fight in|wrestling|boxers
spo-pele|sport|Pelé was famous for playing which sport?|soccer;football|the sport Pelé played|basketball|Pelé
spo-bolt|sport|Usain Bolt was famous for which sport?|sprint;running;athletics;track|the sport Usain Bolt was famous for|swimming|Usain Bolt
spo-phelps|sport|Michael Phelps won his Olympic medals in which sport?|swimming|the sport Michael Phelps won his medals in|cycling|Michael Phelps
spo-gretzky|sport|Wayne Gretzky was a star of which sport?|hockey;ice hockey|the sport Wayne Gretzky starred in|baseball|Wayne Gretzky
spo-woods|sport|Tiger Woods is famous for which sport?|golf|the sport Tiger Woods is famous for|tennis|Tiger Woods
spo-federer|sport|Roger Federer is famous for which sport?|tennis|the sport Roger Federer is famous for|golf|Roger Federer
spo-messi|sport|Lionel Messi plays which sport?|soccer;football|the sport Lionel Messi plays|rugby|Lionel Messi
spo-homerun|sport|In which sport do you hit a home run?|baseball|the sport of the home run|cricket|home runs
spo-touch|sport|In which sport do you score a touchdown?|American football;football|the sport of the touchdown|rugby|touchdowns
spo-puck|sport|Which sport is played with a puck?|hockey;ice hockey|the sport played with a puck|lacrosse|pucks
spo-shuttle|sport|Which sport is played with a shuttlecock?|badminton|the sport played with a shuttlecock|squash|shuttlecocks
spo-marathon|sport|How long is a marathon in kilometers?|42|the length of a marathon in kilometers|50|marathons
spo-wcup|sport|The FIFA World Cup is a tournament in which sport?|soccer;football|the sport of the FIFA World Cup|basketball|the World Cup
spo-ali|sport|Muhammad Ali was a champion in which sport?|boxing|the sport Muhammad Ali was a champion in|wrestling|Muhammad Ali
spo-slam|sport|In which sport do players make a slam dunk?|basketball|the sport of the slam dunk|volleyball|slam dunks
his-col|history|In which year did Columbus first reach the Americas?|1492|the year Columbus reached the Americas|1592|Columbus
his-moon|history|In which year did humans first land on the Moon?|1969|the year humans first landed on the Moon|1972|the Moon landing
his-ww1|history|In which year did World War I begin?|1914|the year World War I began|1918|World War I
his-wall|history|In which year did the Berlin Wall fall?|1989|the year the Berlin Wall fell|1991|the Berlin Wall
his-titanic|history|In which year did the Titanic sink?|1912|the year the Titanic sank|1920|the Titanic
his-indep|history|In which year did the United States declare independence?|1776|the year the United States declared independence|1812|American independence
his-firstpres|history|Who was the first president of the United States?|George Washington;Washington|the first president of the United States|Abraham Lincoln|American presidents
his-lincoln|history|Which US president gave the Gettysburg Address?|Abraham Lincoln;Lincoln|the president who gave the Gettysburg Address|George Washington|the Gettysburg Address
his-napoleon|history|Napoleon Bonaparte was the emperor of which country?|France|the country Napoleon ruled as emperor|Italy|Napoleon
his-cleo|history|Cleopatra was the queen of which ancient country?|Egypt|the country Cleopatra ruled|Greece|Cleopatra
his-caesar|history|Julius Caesar was a leader of which ancient city's empire?|Rome|the city whose empire Julius Caesar led|Athens|Julius Caesar
his-mandela|history|Nelson Mandela became president of which country?|South Africa|the country Nelson Mandela led|Kenya|Nelson Mandela
his-gandhi|history|Mahatma Gandhi led the independence movement of which country?|India|the country whose independence Gandhi led|Pakistan|Gandhi
his-mlk|history|Who gave the famous "I Have a Dream" speech?|Martin Luther King;King|the speaker of "I Have a Dream"|Malcolm X|civil rights speeches
his-wright|history|Which brothers made the first powered airplane flight?|Wright;Wright brothers|the brothers who made the first powered flight|the Lumière brothers|early aviation
his-gagarin|history|Who was the first human in space?|Yuri Gagarin;Gagarin|the first human in space|John Glenn|space flight
his-magna|history|In which country was the Magna Carta signed?|England|the country where the Magna Carta was signed|France|the Magna Carta
his-ussr|history|In which year did the Soviet Union collapse?|1991|the year the Soviet Union collapsed|1989|the Soviet Union
his-queen|history|Which British queen reigned for 70 years until 2022?|Elizabeth;Elizabeth II|the British queen who reigned until 2022|Victoria|the British monarchy
his-pyramids|history|Which ancient people built the pyramids of Giza?|Egyptians;Egyptian|the builders of the pyramids of Giza|Romans|the pyramids
ser-narnia|series|Who wrote The Chronicles of Narnia?|C. S. Lewis;C.S. Lewis;Lewis|the author of The Chronicles of Narnia|J. R. R. Tolkien|Narnia
ser-lotr|series|Who wrote The Lord of the Rings?|Tolkien|the author of The Lord of the Rings|C. S. Lewis|The Lord of the Rings
ser-got|series|Who wrote the A Song of Ice and Fire books?|George R. R. Martin;George R.R. Martin;Martin|the author of A Song of Ice and Fire|Tolkien|Game of Thrones
ser-hunger|series|Who wrote The Hunger Games books?|Suzanne Collins;Collins|the author of The Hunger Games|Stephenie Meyer|The Hunger Games
ser-twi|series|Who wrote the Twilight books?|Stephenie Meyer;Meyer|the author of the Twilight books|Suzanne Collins|Twilight
ser-poirot|series|Who created the detective Hercule Poirot?|Agatha Christie;Christie|the creator of Hercule Poirot|Arthur Conan Doyle|Poirot
ser-bond|series|Who created the spy James Bond?|Ian Fleming;Fleming|the creator of James Bond|John le Carré|James Bond
ser-percy|series|Who wrote the Percy Jackson books?|Rick Riordan;Riordan|the author of the Percy Jackson books|J. K. Rowling|Percy Jackson
ser-discworld|series|Who wrote the Discworld novels?|Terry Pratchett;Pratchett|the author of the Discworld novels|Neil Gaiman|Discworld
ser-dune|series|Who wrote Dune?|Frank Herbert;Herbert|the author of Dune|Isaac Asimov|Dune
ser-found|series|Who wrote the Foundation series?|Isaac Asimov;Asimov|the author of the Foundation series|Arthur C. Clarke|Foundation
ser-alice|series|Who wrote Alice's Adventures in Wonderland?|Lewis Carroll;Carroll|the author of Alice in Wonderland|Roald Dahl|Alice in Wonderland
ser-choc|series|Who wrote Charlie and the Chocolate Factory?|Roald Dahl;Dahl|the author of Charlie and the Chocolate Factory|Lewis Carroll|Willy Wonka
ser-1984|series|Who wrote the novel 1984?|George Orwell;Orwell|the author of 1984|Aldous Huxley|1984
ser-wp|series|Who wrote War and Peace?|Leo Tolstoy;Tolstoy|the author of War and Peace|Dostoevsky|War and Peace
ser-pinoc|series|Who wrote The Adventures of Pinocchio?|Carlo Collodi;Collodi|the author of Pinocchio|Hans Christian Andersen|Pinocchio
ser-mermaid|series|Who wrote the fairy tale The Little Mermaid?|Hans Christian Andersen;Andersen|the author of The Little Mermaid|the Brothers Grimm|fairy tales
ser-peter|series|Who wrote Peter Pan?|J. M. Barrie;J.M. Barrie;Barrie|the author of Peter Pan|Lewis Carroll|Peter Pan
ser-tom|series|Who wrote The Adventures of Tom Sawyer?|Mark Twain;Twain|the author of Tom Sawyer|Charles Dickens|Tom Sawyer
ser-frank|series|Who wrote Frankenstein?|Mary Shelley;Shelley|the author of Frankenstein|Bram Stoker|Frankenstein
ser-macbeth|series|Who wrote Macbeth?|Shakespeare|the author of Macbeth|Christopher Marlowe|Macbeth
siu-watt|sciunit|What is the SI unit of power?|watt|the SI unit of power|joule|power
siu-pascal|sciunit|What is the SI unit of pressure?|pascal|the SI unit of pressure|newton|pressure
siu-kelvin|sciunit|What is the SI unit of temperature?|kelvin|the SI unit of temperature|celsius|temperature
siu-kg|sciunit|What is the SI unit of mass?|kilogram|the SI unit of mass|pound|mass
siu-sec|sciunit|What is the SI unit of time?|second|the SI unit of time|minute|time
siu-coul|sciunit|What is the SI unit of electric charge?|coulomb|the SI unit of electric charge|ampere|electric charge
siu-lumen|sciunit|What unit measures luminous flux?|lumen|the unit of luminous flux|lux|light
siu-cal|sciunit|Which unit is used on food labels to measure energy?|calorie;calories;kilocalorie|the unit of food energy on labels|gram|food labels
siu-knot|sciunit|Which unit measures the speed of ships?|knot|the unit of ship speed|mile|ships
siu-ly|sciunit|What unit of distance is the distance light travels in a year?|light-year;light year|the distance light travels in a year|parsec|astronomy distances
siu-byte|sciunit|How many bits are in a byte?|8;eight|the number of bits in a byte|ten|computer memory
siu-mol|sciunit|What is the SI unit for amount of substance?|mole|the SI unit of amount of substance|gram|chemistry
siu-speedlight|sciunit|What is the speed of light in kilometers per second, roughly?|300,000;300000|the speed of light in kilometers per second|150,000|the speed of light
per-einstein|person|Which scientist is famous for the equation E=mc2?|Einstein|the scientist of E=mc2|Isaac Newton|E=mc2
per-curie|person|Who was the first woman to win a Nobel Prize?|Marie Curie;Curie|the first woman to win a Nobel Prize|Florence Nightingale|the Nobel Prize
per-gates|person|Who co-founded Microsoft with Paul Allen?|Bill Gates;Gates|the co-founder of Microsoft|Steve Jobs|Microsoft
per-jobs|person|Who co-founded Apple with Steve Wozniak?|Steve Jobs;Jobs|the co-founder of Apple|Bill Gates|Apple
per-zuck|person|Who founded Facebook?|Mark Zuckerberg;Zuckerberg|the founder of Facebook|Jeff Bezos|Facebook
per-bezos|person|Who founded Amazon?|Jeff Bezos;Bezos|the founder of Amazon|Elon Musk|Amazon
per-disney|person|Who created Mickey Mouse?|Walt Disney;Disney|the creator of Mickey Mouse|Charles Schulz|Mickey Mouse
per-edison|person|Who invented the light bulb?|Thomas Edison;Edison|the inventor of the light bulb|Nikola Tesla|light bulbs
per-newton|person|Which scientist described the laws of motion after an apple fell?|Isaac Newton;Newton|the scientist of the laws of motion|Galileo|the laws of motion
per-galileo|person|Who improved the telescope and observed Jupiter's moons in 1610?|Galileo|the astronomer who observed Jupiter's moons|Copernicus|telescopes
per-mozart|person|Which composer wrote The Magic Flute?|Mozart|the composer of The Magic Flute|Beethoven|The Magic Flute
per-bach|person|Which composer wrote the Brandenburg Concertos?|Bach|the composer of the Brandenburg Concertos|Handel|the Brandenburg Concertos
per-nightingale|person|Which nurse was called the Lady with the Lamp?|Florence Nightingale;Nightingale|the Lady with the Lamp|Marie Curie|nursing history
per-hawking|person|Which physicist wrote A Brief History of Time?|Stephen Hawking;Hawking|the author of A Brief History of Time|Carl Sagan|A Brief History of Time
per-marco|person|Which Venetian traveler wrote about his journey to China?|Marco Polo|the Venetian traveler to China|Christopher Columbus|the Silk Road
per-vangogh|person|Which painter cut off part of his own ear?|Van Gogh;Vincent van Gogh|the painter who cut off his ear|Pablo Picasso|painters
per-chaplin|person|Which silent film star played the Tramp?|Charlie Chaplin;Chaplin|the actor who played the Tramp|Buster Keaton|silent films
per-elvis|person|Who sang Jailhouse Rock?|Elvis Presley;Elvis|the singer of Jailhouse Rock|Chuck Berry|rock and roll
per-jackson|person|Who was known as the King of Pop?|Michael Jackson;Jackson|the King of Pop|Prince|pop music
food-pizza|food|Pizza comes from which country?|Italy|the country pizza comes from|France|pizza
food-croiss|food|Croissants are a classic pastry of which country?|France|the country of the croissant|Austria|croissants
food-paella|food|Paella is a traditional dish from which country?|Spain|the country of paella|Italy|paella
food-kimchi|food|Kimchi is a traditional food of which country?|Korea;South Korea|the country of kimchi|Japan|kimchi
food-curry|food|Which country is famous for butter chicken and naan bread?|India|the country of butter chicken|Thailand|butter chicken
food-guac|food|Guacamole is made mainly from which fruit?|avocado|the main fruit in guacamole|lime|guacamole
food-hummus|food|Hummus is made mainly from which legume?|chickpea;chickpeas|the main legume in hummus|lentils|hummus
food-tofu|food|Tofu is made from which bean?|soy;soybean;soya|the bean tofu is made from|black bean|tofu
food-wine|food|Wine is made from which fruit?|grape;grapes|the fruit wine is made from|apple|wine
food-cheese|food|Cheese is made from what?|milk|what cheese is made from|eggs|cheese
food-choc|food|Chocolate is made from the beans of which plant?|cacao;cocoa|the plant whose beans make chocolate|coffee|chocolate
food-fries|food|French fries are made from which vegetable?|potato;potatoes|the vegetable French fries are made from|cassava|French fries
food-pasta|food|Spaghetti is a type of what food?|pasta|the kind of food spaghetti is|noodle soup|spaghetti
food-bagel|food|Which grain is bread usually made from?|wheat|the grain bread is usually made from|rice|bread
food-tea|food|Matcha is a powdered form of which drink?|tea;green tea|the drink matcha is a powder of|coffee|matcha
food-maple|food|Maple syrup is most famously made in which country?|Canada|the country famous for maple syrup|Sweden|maple syrup
body-lung|body|Which organs do humans use to breathe?|lungs;lung|the organs humans breathe with|kidneys|breathing
body-brain|body|Which organ controls the nervous system?|brain|the organ that controls the nervous system|heart|the nervous system
body-skin|body|What is the largest organ of the human body?|skin|the largest organ of the human body|liver|organs
body-blood|body|What colour is human blood?|red|the colour of human blood|blue|blood
body-cells|body|Which blood cells carry oxygen?|red blood cells;red|the blood cells that carry oxygen|white blood cells|blood cells
body-eye|body|Which organ do we see with?|eye;eyes|the organ we see with|ears|sight
body-kid|body|Which organs filter the blood to make urine?|kidneys;kidney|the organs that filter blood into urine|lungs|urine
body-calc|body|Which mineral makes bones strong?|calcium|the mineral that makes bones strong|iron|bones
body-stom|body|Which organ digests food with acid?|stomach|the organ that digests food with acid|liver|digestion
body-dna|body|What molecule carries genetic information?|DNA|the molecule that carries genetic information|protein|genes
tech-www|tech|Who invented the World Wide Web?|Tim Berners-Lee;Berners-Lee|the inventor of the World Wide Web|Bill Gates|the web
tech-iphone|tech|Which company makes the iPhone?|Apple|the maker of the iPhone|Samsung|the iPhone
tech-win|tech|Which company makes the Windows operating system?|Microsoft|the maker of Windows|Apple|Windows
tech-cpu|tech|What does CPU stand for?|central processing unit|what CPU stands for|computer power unit|CPUs
tech-www2|tech|What does WWW stand for in a web address?|World Wide Web|what WWW stands for|World Web Wire|web addresses
tech-play|tech|Which company makes the PlayStation?|Sony|the maker of the PlayStation|Nintendo|the PlayStation
tech-mario|tech|Which company created Super Mario?|Nintendo|the creator of Super Mario|Sega|Super Mario
tech-usb|tech|What does USB stand for?|Universal Serial Bus|what USB stands for|Universal System Bus|USB cables
nat-rain|nature|What is the largest rainforest in the world?|Amazon|the largest rainforest in the world|the Congo|rainforests
nat-nile|nature|What is the longest river in Africa?|Nile|the longest river in Africa|the Congo|African rivers
nat-sun|nature|What is the star at the center of our solar system?|Sun;the Sun|the star at the center of our solar system|Polaris|the solar system
nat-rainbow|nature|How many colours are in a rainbow?|7;seven|the number of colours in a rainbow|six|rainbows
nat-ant|nature|What is the coldest continent?|Antarctica|the coldest continent|Asia|the coldest places
nat-asia|nature|What is the largest continent?|Asia|the largest continent|Africa|continents
nat-vol|nature|What comes out of an erupting volcano?|lava;magma|what comes out of an erupting volcano|steam|volcanoes
nat-tide|nature|What causes the ocean tides?|Moon;the Moon|the cause of the ocean tides|the wind|tides
nat-gold|nature|What colour do you get by mixing blue and yellow?|green|the colour from blue and yellow|purple|mixing paint
nat-ice|nature|What is the name of the North Pole's ocean?|Arctic|the ocean at the North Pole|the Antarctic Ocean|the North Pole
nat-dead|nature|Which sea is so salty that people float easily in it?|Dead Sea|the saltiest sea people float in|the Red Sea|salty seas
nat-evg|nature|What do bees collect from flowers?|nectar;pollen|what bees collect from flowers|water|bees
mus-vio|music|How many strings does a violin have?|4;four|the number of strings on a violin|six|violins
mus-beet|music|Which composer became deaf but kept writing symphonies?|Beethoven|the deaf composer|Mozart|deaf composers
mus-orch|music|Who leads an orchestra with a baton?|conductor|the person who leads an orchestra|the first violinist|orchestras
mus-queen|music|Which band had Freddie Mercury as its singer?|Queen|Freddie Mercury's band|the Rolling Stones|Freddie Mercury
mus-abba|music|Which Swedish band sang Dancing Queen?|ABBA|the band that sang Dancing Queen|Roxette|Dancing Queen
"""

# Candidates the default model answered wrongly at either probe date (`broadbench probe`, greedy,
# history-free, current dates 2024/06/01 and 2025/02/11): 117 of 185.
PROBE_WRONG: frozenset[str] = frozenset((
    "body-cells", "body-eye", "body-skin", "body-stom", "food-curry", "food-guac", "food-hummus",
    "food-kimchi", "food-maple", "food-pasta", "food-tofu", "food-wine", "his-caesar", "his-firstpres",
    "his-gagarin", "his-gandhi", "his-lincoln", "his-magna", "his-moon", "his-titanic", "his-ussr", "his-wall",
    "his-wright", "his-ww1", "mus-abba", "mus-beet", "mus-orch", "mus-queen", "mus-vio", "nat-asia",
    "nat-dead", "nat-gold", "nat-rainbow", "nat-sun", "nat-tide", "nat-vol", "num-bones", "num-cards",
    "num-cont", "num-cube", "num-feet", "num-gross", "num-hourmin", "num-leap", "num-mile", "num-ounce",
    "num-pi", "num-planets", "num-roman", "num-romanl", "num-score", "num-sqrt", "num-strings", "num-teeth",
    "num-tri180", "num-yard", "num-year", "per-chaplin", "per-curie", "per-edison", "per-elvis", "per-galileo",
    "per-gates", "per-hawking", "per-jackson", "per-jobs", "per-mozart", "per-newton", "per-nightingale",
    "per-vangogh", "per-zuck", "ser-1984", "ser-alice", "ser-bond", "ser-choc", "ser-discworld", "ser-found",
    "ser-frank", "ser-got", "ser-hunger", "ser-mermaid", "ser-narnia", "ser-percy", "ser-peter", "ser-pinoc",
    "ser-poirot", "ser-tom", "ser-wp", "siu-cal", "siu-kelvin", "siu-knot", "siu-lumen", "siu-ly", "siu-mol",
    "siu-speedlight", "siu-watt", "spo-bask", "spo-bolt", "spo-golf", "spo-gretzky", "spo-homerun",
    "spo-marathon", "spo-pele", "spo-phelps", "spo-ring", "spo-shuttle", "spo-slam", "spo-soc", "spo-sumo",
    "spo-tdf", "spo-touch", "spo-wcup", "spo-wim", "spo-woods", "tech-iphone", "tech-mario", "tech-www",
))
# Candidates dropped because the hand-written dev set asks the same fact (same gold answer, topic
# words in its question): the dev set must stay of different authorship, so the gate never fits on
# its facts. Checked once after the candidates were written; the generator never reads the dev set.
DEV_OVERLAP: frozenset[str] = frozenset((
    "body-cells", "body-kid", "food-bagel", "food-cheese", "food-choc", "food-paella", "food-pizza",
    "food-tofu", "food-wine", "his-cleo", "his-col", "his-lincoln", "his-napoleon", "nat-evg", "num-tri180",
    "per-bach", "per-hawking", "ser-hunger", "ser-lotr", "ser-macbeth", "ser-twi", "siu-coul", "siu-kg",
    "siu-pascal", "spo-messi", "spo-soc", "spo-wcup",
))
_DROPPED = PROBE_WRONG | DEV_OVERLAP

BROAD_FACT_TABLE = "\n".join(row for row in CANDIDATE_FACT_TABLE.strip().splitlines()
                             if row.split("|", 1)[0] not in _DROPPED)

# Personal framings of a factual question ({q} the question, {Q} lower-cased first letter,
# {kin} a relative, {name} a first name, {w} the user's wrong belief).
FACTUAL_FRAMES = (
    "My {kin} asked me this at dinner and I blanked: {q}",
    "Settle a bet between me and {name}: {q}",
    "I'm helping {name} with homework tonight. {q}",
    "Quick one for our pub quiz team: {q}",
    "{name} and I can't agree on this. {q}",
    "My {kin} insists it's {w}. {q}",
    "I always thought the answer was {w}, but now I'm not sure. {q}",
    "Before I embarrass myself in front of my {kin}: {q}",
    "Random thought on my commute: {q}",
    "For a crossword clue: {q}",
)

FIRST_NAMES = ("Ottavia", "Branimir", "Cosmin", "Yara", "Ayesha", "Tobias", "Leilani", "Rafael", "Noor", "Obinna",
               "Freya", "Joaquin", "Mei", "Anselm", "Zainab", "Saoirse", "Yusuf", "Rosalind", "Teodor", "Lucia",
               "Lars", "Amara", "Elio", "Wren", "Farida", "Declan", "Annika", "Matteo", "Odile", "Vikram",
               "Greta", "Imani", "Lorenzo", "Delphine", "Jovan", "Solveig", "Kalani", "Hugo", "Esme", "Bashir")
KIN = ("sister", "brother", "cousin", "aunt", "uncle", "colleague", "best friend", "flatmate", "niece",
       "nephew", "godson", "stepdad", "mother-in-law", "neighbour", "teammate", "old classmate")
CITIES = ("Coimbra", "Valencia", "Sheffield", "Krakow", "Tucson", "Halifax", "Bergen", "Gdansk", "Nagoya", "Adelaide",
          "Namur", "Bologna", "Cluj", "Aarhus", "Granada", "Groningen", "Galway", "Ljubljana", "Winnipeg", "Malaga",
          "Turku", "Brno", "Lausanne", "Salzburg", "Montpellier", "Cordoba", "Durban", "Hobart", "Izmir")
COUNTRIES = ("Slovenia", "Ghana", "Bolivia", "Vietnam", "Iceland", "Tunisia", "Poland", "Paraguay", "Indonesia",
             "Croatia", "Ethiopia", "Uruguay", "Malaysia", "Oman", "Estonia", "Senegal", "Nepal", "Ireland")
INSTRUMENTS = ("piano", "violin", "clarinet", "drums", "flute", "saxophone", "guitar", "viola", "trumpet",
               "mandolin", "double bass", "marimba")
PET_KINDS = ("dog", "cat", "rabbit")
BREEDS = {"dog": ("beagle", "labrador", "whippet", "poodle", "spaniel", "husky", "schnauzer", "shiba inu"),
          "cat": ("Siamese", "Maine Coon", "Bengal", "Persian", "ragdoll", "Sphynx"),
          "rabbit": ("lop", "Rex", "Dutch", "Lionhead")}
PET_NAMES = ("Crumpet", "Zorro", "Marmalade", "Bruno", "Sprout", "Olive", "Mabel", "Peaches", "Smudge", "Juno",
             "Nugget", "Maple", "Gizmo", "Waffle", "Dumpling", "Figaro")
FOODS = ("lupin", "buckwheat", "shrimp", "pine nuts", "mustard", "cashews", "walnuts", "chickpeas", "kiwi", "dairy")
EVENTS = ("wedding", "retirement party", "graduation", "housewarming", "fortieth birthday", "baby shower",
          "engagement party", "farewell dinner")
WORKPLACES = (("manager", "bakery"), ("team lead", "office"), ("dentist", "clinic"), ("doctor", "health centre"),
              ("supervisor", "warehouse"), ("coach", "swimming club"), ("GP", "surgery"),
              ("charge nurse", "hospital"), ("head chef", "restaurant"), ("editor", "newsroom"))
DOCTORS = ("Dr. Haddad", "Dr. Kowalczyk", "Dr. Sorensen", "Dr. Achebe", "Dr. Varga", "Dr. Moreau")
HOTELS = ("Hotel Mirador", "The Linden House", "Casa Azul", "Harbour Lights Inn", "The Old Mill Hotel",
          "Hotel Belvedere", "The Juniper Lodge", "Pension Rosa")
HOBBY_SPORTS = ("squash", "volleyball", "water polo", "ultimate frisbee", "netball", "padel", "table tennis",
                "handball", "lacrosse", "rowing", "fencing", "curling")
COLOURS = ("red", "silver", "green", "yellow", "navy blue", "white", "orange", "black")
VEHICLES = ("Fiat 500", "Volvo estate", "delivery van", "Vespa scooter", "Ford pickup", "Mini Cooper")
TIMES = ("6 am", "7 am", "5:30 am", "10 pm", "8 pm", "2 pm", "11 pm", "9:30 am")
MEETING_PLACES = ("conference", "trade fair", "summer school", "book festival", "hackathon", "choir tour",
                  "study semester", "team offsite")
MEDICINES = ("apoquel", "carprofen", "gabapentin", "metronidazole", "prednisolone", "amoxicillin")
SUBJECTS = ("law", "economics", "nursing", "architecture", "biology", "history", "engineering", "philosophy",
            "medicine", "linguistics")
