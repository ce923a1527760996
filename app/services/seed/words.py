"""Word lists the seed composes plausible records from. Invented titles, real-looking names."""
from __future__ import annotations

FIRST_FEMALE = """Abigail Ada Adaeze Agnes Aiko Aisha Alice Alma Amara Amelia Ana Anaïs Andrea Anika Anna
Annette Astrid Aurora Beatriz Bernadette Bethany Brigitte Camille Carmen Caroline Catalina Cecilia Chloé
Clara Claudia Constance Daniela Deborah Delphine Diana Dolores Dorothy Eleanor Elena Eliza Ellen Elodie
Emilia Emma Esther Eva Evelyn Fatima Fiona Florence Frances Freya Gabriela Grace Greta Hana Hannah
Harriet Helen Hélène Hilde Ida Imani Ines Ingrid Irene Isabel Isla Ivy Jade Jane Janet Joanna Josephine
Joy Judith Julia Juliette Kamala Karin Kate Keiko Laila Laura Lea Leila Lena Lila Linnea Lucia Lucy
Lydia Mabel Madeleine Maeve Malika Margaret Margot Maria Marianne Marta Martha Maya Mei Mercedes
Miriam Naomi Natalia Nina Noor Nora Olivia Paloma Patricia Pauline Penelope Priya Rachel Rosa Rose
Ruth Sabine Sadie Salma Sara Simone Sofia Sophie Stella Susan Sylvie Tamsin Tessa Thea Valentina
Vera Victoria Violet Wanda Yasmin Yuki Zara Zoe""".split()

FIRST_MALE = """Aaron Abdul Adam Adrian Ahmed Alan Albert Alejandro Alexander Alfred Amir Andrew Anton
Antoine Arjun Arthur Augustin Ben Benedict Bernard Bruno Caleb Carl Carlos Cédric Charles Chidi
Christopher Claude Colin Daniel David Declan Diego Dmitri Edgar Edward Elias Emil Emmanuel Eric
Ernest Ethan Felix Fernando Finn Francis François Frederick Gabriel George Gerard Gideon Gregory
Hamza Hans Harold Harvey Hector Henry Hugo Ian Ibrahim Isaac Ivan Jack Jacob Jakob James Jasper
Javier Jean Joaquín Johan John Jonah Jonas Jorge José Joseph Julian Kai Karl Kenji Kofi Lars Laurent
Leo Leon Liam Louis Luca Lucas Luis Magnus Malik Marcel Marco Marcus Mario Martin Mateo Matthew
Max Michael Miguel Milan Mohammed Nathan Nikolai Noah Oliver Omar Oscar Owen Pablo Patrick Paul
Pedro Peter Philippe Pierre Rafael Rahul Raymond Robert Roman Ruben Samuel Sebastian Simon Stefan
Stephen Sven Theo Thomas Tobias Tomás Victor Vincent Walter William Xavier Yusuf Zachary""".split()

SURNAMES = """Abbott Achterberg Adeyemi Alvarez Andersen Andersson Arnaud Ashworth Bailey Baker Bakshi
Barnes Bauer Beaumont Becker Bell Benoît Bergström Bianchi Bishop Blackwood Blanc Bonnet Bose Brennan
Brooks Brown Bruno Campbell Carter Castillo Chapman Chen Clark Clarke Cohen Cole Collins Colombo Cooper
Costa Coulibaly Cruz Dahl Daniels Davies Davis Delacroix Diallo Díaz Dubois Dupont Durand Edwards
Eriksen Evans Fernández Ferrari Fischer Fitzgerald Fleming Flores Fontaine Foster Fournier Fraser
Gallagher García Garnier Gauthier Gill Girard Goldberg Gómez González Gordon Graham Grant Gray Green
Griffin Gupta Haas Hall Hamilton Hansen Harper Harris Hartmann Hayes Henderson Hernández Hill Hoffmann
Holm Hughes Hunter Ibrahim Ito Jackson Jensen Johansson Johnson Jones Kaur Keller Kelly Kennedy Khan
Kim Klein Koch Kowalski Kumar Lambert Lange Larsen Laurent Lee Lefebvre Lehmann Leroy Lewis Lindqvist
Lombardi López Lund MacDonald Marchand Martin Martínez Mason Mazur McCarthy Mehta Mendes Mercier
Meyer Miller Mitchell Moreau Morel Moreno Morgan Morris Müller Murphy Murray Nakamura Nguyen Nielsen
Novak Nowak O'Brien O'Connor Okafor Okonkwo Olsen Ortiz Owens Palmer Park Patel Perez Perrin Petersen
Petit Phillips Pierce Popescu Price Quinn Ramírez Reed Reyes Richard Richardson Rivera Roberts
Robinson Rodríguez Romano Rossi Roux Russell Ryan Saito Sánchez Santos Sato Schmidt Schneider Scott
Shah Shapiro Silva Simmons Singh Sørensen Stewart Suzuki Svensson Tanaka Taylor Thomas Thompson
Torres Turner Vasquez Vidal Vogel Wagner Walker Wang Ward Watson Weber Wilson Wolf Wright Yamamoto
Young Zhang Zimmermann""".split()

TITLE_NOUNS = """Archive Atlas Autumn Bargain Bell Birds Bones Border Bridge Cartographer Cathedral
Cellar Child Circle City Clockmaker Coast Compass Country Crossing Crown Daughter Dawn Debt Desert
Distance Dream Dust Echo Edge Embers Empire Estate Exile Factory Feast Ferryman Field Fire Flood
Forest Fortune Fox Garden Gate Ghost Glass Gods Gravity Harbour Harvest Heart Heir Hill Horizon
Hour House Hunger Island Journey Keeper Kingdom Ladder Lake Lantern Letters Library Light Lighthouse
Lion Machine Map Marsh Meadow Memory Mirror Moon Mountain Museum Music Night North Ocean Orchard
Orphan Painter Passage Pilgrim Prophet Quarry Queen Rain Reckoning River Road Ruins Salt Sea Season
Secret Shadow Ship Shore Signal Silence Sister Sky Snow Song Sparrow Spring Star Stone Storm Stranger
Summer Sun Tide Tower Traveller Tree Valley Voyage Wall War Watchman Water Widow Wind Window Winter
Wolf Woman World Year""".split()

TITLE_ADJECTIVES = """Absent Amber Ancient Bitter Black Blue Borrowed Broken Burning Careful Crimson
Crooked Dark Distant Drowned Early Empty Endless Eternal Fallen False Far Final Forgotten Frozen
Gentle Gilded Golden Great Green Grey Hidden Hollow Invisible Iron Last Late Little Lonely Lost
Midnight Narrow New Northern Old Only Pale Paper Perfect Quiet Red Restless Salt Scarlet Second
Secret Silent Silver Small Southern Stolen Strange Sudden Sunken Tender Thin Unfinished Unquiet
Vanishing Violet Wandering White Wild Winter Wooden""".split()

PLACES = """Aleppo Alexandria Antwerp Athens Avalon Baghdad Barcelona Berlin Bordeaux Brittany Cairo
Calais Nantucket Cordoba Cornwall Dakar Dublin Galicia Genoa Havana Istanbul Kyoto Lagos Lisbon
Lyon Macau Marrakesh Marseille Montreal Naples Normandy Odessa Oslo Patagonia Prague Provence Quebec
Samarkand Seville Siena Tangier Timbuktu Trieste Valparaíso Venice Vienna Vilnius Yorkshire
Zanzibar""".split()

# Non-fiction topics: (topic words, Dewey class, subject headings)
TOPICS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Astronomy", "520", ("Astronomy", "Stars", "Cosmology")),
    ("Botany", "580", ("Botany", "Plants", "Gardening")),
    ("Gardening", "635", ("Gardening", "Vegetable gardening", "Organic gardening")),
    ("Cooking", "641.5", ("Cooking", "Cooking, French", "Baking", "Vegetarian cooking")),
    ("Philosophy", "100", ("Philosophy", "Ethics", "Philosophy, Modern")),
    ("Theology", "230", ("Theology", "Christianity", "Protestantism", "Bible -- Criticism, interpretation, etc.")),
    ("Psychology", "150", ("Psychology", "Memory", "Emotions")),
    ("Economics", "330", ("Economics", "Finance, Personal", "Economic history")),
    ("Law", "340", ("Law", "Civil rights", "Constitutional law")),
    ("Education", "370", ("Education", "Teaching", "Reading (Elementary)")),
    ("Mathematics", "510", ("Mathematics", "Geometry", "Probabilities")),
    ("Physics", "530", ("Physics", "Quantum theory", "Relativity (Physics)")),
    ("Chemistry", "540", ("Chemistry", "Chemistry, Organic")),
    ("Geology", "550", ("Geology", "Volcanoes", "Earthquakes")),
    ("Biology", "570", ("Biology", "Evolution (Biology)", "Genetics")),
    ("Birds", "598", ("Birds", "Bird watching", "Ornithology")),
    ("Medicine", "610", ("Medicine", "Health", "Nutrition")),
    ("Engineering", "620", ("Engineering", "Bridges -- Design and construction")),
    ("Architecture", "720", ("Architecture", "Architecture, Modern", "Cathedrals")),
    ("Painting", "750", ("Painting", "Art, Modern", "Impressionism (Art)")),
    ("Photography", "770", ("Photography", "Digital photography")),
    ("Music", "780", ("Music", "Jazz", "Music -- History and criticism")),
    ("Sports", "796", ("Sports", "Running", "Football")),
    ("Poetry", "808.81", ("Poetry", "English poetry")),
    ("Travel", "910", ("Travel", "Voyages and travels", "Hiking")),
    ("History", "909", ("History", "World history", "Civilization")),
    ("Computing", "005", ("Computer programming", "Python (Computer program language)", "Databases")),
    ("Libraries", "020", ("Libraries", "Library science", "Cataloging")),
    ("Sociology", "301", ("Sociology", "Cities and towns", "Families")),
    ("Languages", "410", ("Language and languages", "French language -- Grammar", "Linguistics")),
)

FICTION_SUBJECTS = (
    "Fiction", "Historical fiction", "Science fiction", "Fantasy fiction", "Detective and mystery stories",
    "Love stories", "Psychological fiction", "Domestic fiction", "Adventure stories", "Short stories",
    "Families -- Fiction", "Friendship -- Fiction", "Coming of age -- Fiction", "Sea stories",
    "Ghost stories", "Humorous fiction", "Epistolary fiction", "Dystopias",
)

FILM_SUBJECTS = ("Feature films", "Drama", "Comedy films", "Documentary films", "Thrillers (Motion pictures)",
                 "Animated films", "Film adaptations", "Children's films")

JUVENILE_SUBJECTS = ("Picture books for children", "Animals -- Juvenile fiction", "Friendship -- Juvenile fiction",
                     "School stories", "Dragons -- Juvenile fiction")

SUBTITLE_FICTION = ("a novel", "a novel", "a novel", "stories", "a mystery", "a romance", "a thriller",
                    "a fable", "a ghost story", "a novel in three parts", "a tale of {place}", "a {place} novel")
SUBTITLE_NONFICTION = ("an introduction", "a very short introduction", "a history", "a guide for beginners",
                       "theory and practice", "a new history", "essays", "from {place} to {place2}",
                       "what everyone needs to know", "a practical handbook", "a field guide",
                       "lessons from {place}", "the essential guide", "{n} ideas that changed the world")

PUBLISHERS = """Penguin Books|Vintage|Faber & Faber|HarperCollins|Gallimard|Seuil|Flammarion|Actes Sud
|Oxford University Press|Cambridge University Press|Routledge|Bloomsbury|Picador|Granta Books
|Little, Brown|Knopf|Farrar, Straus and Giroux|W. W. Norton|Riverhead Books|Tor Books|Orbit|Ace Books
|Scholastic|Walker Books|Candlewick Press|Puffin|Random House|Simon & Schuster|Macmillan|Pan Books
|MIT Press|Princeton University Press|Yale University Press|University of Chicago Press|O'Reilly Media
|No Starch Press|Labor et Fides|Éditions du Cerf|Beacon Press|Graywolf Press|Lantern Hill Press
|Fairfield & Sons|Midway Editions|Centerville University Press|Blue Heron Books""".replace("\n", "").split("|")

SERIES_PATTERNS = ("The {adj} {noun} trilogy", "The {place} quartet", "Chronicles of the {noun}",
                   "{noun} and {noun2} mysteries", "Very short introductions", "Penguin classics",
                   "Inspector {surname} mysteries", "The {noun} cycle", "Library of {topic}",
                   "Studies in {topic}", "Oxford world's classics", "Collected works")

FILM_PATTERNS = ("The {adj} {noun}", "{noun} of {place}", "{place}", "A {noun} in {place}",
                 "The {noun}'s {noun2}", "{adj} {noun}")

MAGAZINE_PATTERNS = ("{topic} Monthly", "The {place} Review", "{topic} Today", "{topic} Quarterly",
                     "The {adj} {noun} Gazette", "Modern {topic}", "{topic} & Society")

STREET_NAMES = """Acacia Alder Ash Aspen Bay Beech Birch Bridge Broad Canal Castle Cedar Chapel Cherry
Church Clover College Court Cypress Dogwood Elm Garden Grove Hawthorn Hazel Heather Hickory High Holly
Juniper Lake Laurel Lime Linden Magnolia Maple Market Meadow Mill Oak Orchard Park Pine Poplar Quarry
River Rose Rowan School Spruce Station Sycamore Union Walnut Water Willow Windmill""".split()

STREET_TYPES = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way", "Place", "Boulevard", "Terrace")
FRENCH_STREETS = ("rue de la Gaîté", "boulevard Arago", "rue Daguerre", "avenue du Maine", "rue Boulard",
                  "rue Raymond-Losserand", "rue de Vanves", "boulevard Raspail", "rue Delambre")

TOWNS = [t.replace("_", " ") for t in """Ashford Bayview Bellmont Birchwood Brookside Cedar_Falls Clearwater Crestwood Eastbrook Elmira
Fairmont Fox_Hollow Glenwood Greenville Harborview Hillcrest Kingsport Lakeside Linden Maple_Grove
Meadowbrook Millbrook Northfield Oakdale Oakridge Pine_Bluff Riverside Rockport Rosedale Sandy_Hook
Shelbyville Silver_Lake Southgate Spring_Valley Stonebridge Summit Sunnyvale Westfield Willow_Creek
Windham Woodbury Ogden Haverford Kendall Lowell Marlow Norwood Prescott Quincy Radford Stanton
Thornbury Upton Verona Waverly Yardley""".split()]

STAFF_NOTES = ("Prefers large print", "Contact by phone only", "Former volunteer", "Homebound delivery",
               "Interlibrary loan user", "Requested no e-mail", "School partnership programme")
RESTRICTION_COMMENTS = ("Lost card reported", "Damaged items not paid", "Behaviour at the desk",
                        "Unreturned interlibrary loan", "Address to be confirmed")
CANCELLATION_REASONS = ("Patron request", "No longer needed", "Cancelled by staff", "Duplicate request",
                        "Item could not be supplied")
MANUAL_FEES = (("Damaged barcode label", "1.00"), ("Photocopies", "0.60"), ("Lost library card", "2.00"),
               ("Interlibrary loan fee", "3.00"), ("Printing", "0.40"), ("Damaged item", "15.00"),
               ("Headphones", "5.00"))
