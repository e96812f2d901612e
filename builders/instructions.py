"""The six instructions of every ECInstruct task (paper, Appendix C), verbatim.

Each task has a human-written seed instruction, four GPT-4 generated
instructions (together the five *seen* instructions used in training,
validation and test) and one *unseen* instruction held out for the
``test_unseen`` / ``test_ood_unseen`` sets.  The texts are the paper's,
cleaned only of PDF extraction artefacts (italics markers, line breaks); the
paper's own wording is kept, including its slips (the AVE unseen instruction
lists "title" twice).

Examples
--------
>>> from ecinstruct_builders.instructions import INSTRUCTIONS
>>> INSTRUCTIONS["PM"].seen[0]
'Given the title, description, manufacturer, and price of two products, identify if they are the same product. Only output yes or no.'
>>> len(INSTRUCTIONS["SR"].seen), INSTRUCTIONS["SR"].kinds[1]
(5, 'generated_1')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: ``instruction_kind`` of the five seen instructions, in order.
SEEN_KINDS = ("seed", "generated_1", "generated_2", "generated_3", "generated_4")


@dataclass(frozen=True)
class TaskInstructions:
    """The instructions of one task.

    Attributes
    ----------
    seen : tuple of str
        Five instructions: the seed first, then generated 1-4.
    unseen : str
        The held-out instruction.
    """

    seen: tuple[str, ...]
    unseen: str

    def __post_init__(self):
        if len(self.seen) != len(SEEN_KINDS):
            raise ValueError(f"expected {len(SEEN_KINDS)} seen instructions, got {len(self.seen)}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """``instruction_kind`` of each seen instruction (``"seed"``, ``"generated_1"``, ...)."""
        return SEEN_KINDS

    def by_kind(self, kind: str) -> str:
        """The instruction of ``kind`` (a seen kind or ``"unseen"``)."""
        if kind == "unseen":
            return self.unseen
        try:
            return self.seen[SEEN_KINDS.index(kind)]
        except ValueError:
            raise KeyError(f"unknown instruction kind {kind!r}; expected one of "
                           f"{SEEN_KINDS + ('unseen',)}") from None


def _t(seed, g1, g2, g3, g4, unseen) -> TaskInstructions:
    return TaskInstructions(seen=(seed, g1, g2, g3, g4), unseen=unseen)


_DATA = {
    # C.1 (the seed also appears in the J.1 case study)
    "AVE": _t(
        "Given the title, description, feature, price, and brand of a product and a set of target "
        "attributes, extract the value of each target attribute from the product information. "
        "Output the extracted value and the corresponding source (e.g., title or feature) denoting "
        "where the value is extracted.",
        "Extract the value of the target attribute from the given product information and output "
        "it along with the corresponding source.",
        "Parse the product information to locate the target attribute, and then provide the "
        "extracted value of the target attribute and its source in the output, specifying None if "
        "the attribute is not present.",
        "First, identify the target attributes from the provided list. Then, scan the product "
        "title, description, feature, and brand to extract the values associated with each target "
        "attribute. Finally, create a list of dictionaries, each containing the extracted "
        "attribute, its corresponding value, and the source where it was found.",
        "Using the product's title, description, features, price, and brand, identify and retrieve "
        "the values associated with a specified set of target attributes. Output the extracted "
        "values along with their respective sources (e.g., title or feature) indicating where each "
        "value was found.",
        "Retrieve the value associated with the target attribute from the product information and "
        "specify the source (e.g., title, description, feature, or title) where the value was "
        "found.",
    ),
    # C.2
    "PRP": _t(
        "Given the title of two products, predict if the two products are similar, if the two "
        "products will be purchased or viewed together. Answer only from the options.",
        "Analyze the titles of Product 1 and Product 2 to determine if they are similar, if they "
        "will be purchased or viewed together, and choose the corresponding option.",
        "Evaluate the titles of Product 1 and Product 2, then choose the option that best "
        "describes the relation between the two products.",
        "Evaluate the titles of Product 1 and Product 2 to assess their similarity and whether "
        "they are likely to be purchased or viewed together. Then, select the appropriate option.",
        "Predict whether two products are similar, whether two products are likely to be purchased "
        "or viewed together based on their titles. Choose your answer from the provided options.",
        "Analyze the titles of Product 1 and Product 2 and select the option that indicates the "
        "relation of the two products.",
    ),
    # C.3
    "PM": _t(
        "Given the title, description, manufacturer, and price of two products, identify if they "
        "are the same product. Only output yes or no.",
        "Analyze the title, description, manufacturer, and price between the two products below "
        "and generate an output of yes if the two products are the same, otherwise respond with "
        "no.",
        "Check the details of the two products to see if they refer to the same product. Output "
        "only yes or no.",
        "Based on the product information, predict if the two products are identical or not. "
        "Output yes if they are identical or no otherwise.",
        "Compare the details of two given products to determine if they are identical. Output yes "
        "if they are identical or no otherwise.",
        "Determine whether the two products are the same by comparing their title, description, "
        "manufacturer, and price, and provide a simple yes or no answer as the output.",
    ),
    # C.4
    "SA": _t(
        "Given the user's review, identify the user's sentiment from the listed options. Answer "
        "using one of the options.",
        "Assess the user's sentiment in the provided review and select the appropriate sentiment "
        "option from the list as the answer.",
        "Determine the sentiment expressed by the user in her review from the provided choices, "
        "and respond by selecting one of the available options.",
        "Carefully assess the user's review for any strong expressions of sentiment, either "
        "positive or negative. Based on your analysis, select the most fitting sentiment option "
        "from the provided list as output.",
        "Analyze the user's review text and determine the overall sentiment expressed, then choose "
        "the corresponding sentiment option from the provided list (A: very positive, B: positive, "
        "C: neutral, D: negative, E: very negative) based on the identified sentiment.",
        "Analyze the user's review and determine the sentiment based on the listed options.",
    ),
    # C.5
    "SR": _t(
        "Given the products the user has purchased in history, rank the items in the listed "
        "options and output the item that the user is most likely to purchase next. Answer from "
        "one of the options.",
        "Based on the user's historical purchases, rank the items in options and predict the next "
        "product of the user's interest from the provided options.",
        "Rank the items in options and predict the user's next purchase from the listed options by "
        "analyzing her historical purchases.",
        "The user's purchase history implies her preferences. Rank the items in the options based "
        "on the user's preferences. Output the item that the user is most likely to purchase next "
        "from the options.",
        "Rank items in listed options based on the user's purchase history to determine the item "
        "that the user is most likely to purchase next. Output the item with the highest "
        "likelihood of being the next purchase.",
        "Estimate the user's intent based on the user's purchase history, and predict the next "
        "product that the user is most likely to purchase from the given options.",
    ),
    # C.6
    "MPC": _t(
        "What is the relevance between the query and the product title below? Answer from one of "
        "the options.",
        "Analyze the query and product title to determine the relevance between the query and "
        "product, and select the appropriate option from the provided options.",
        "Evaluate the relevance between the query and product title, and choose the most accurate "
        "option from the given options.",
        "Analyze the query and product title to assess the level of relevance between them, and "
        "then output the corresponding option that best describes this relevance.",
        "Determine the relevance between the query and the product title provided, and select your "
        "response from one of the available options.",
        "Compare the query and the product title to determine if the product fully meets the query "
        "specifications. Choose the option that best describes the relevance between them.",
    ),
    # C.7
    "PSI": _t(
        "Given a query and a product, identify if the product is somewhat relevant to the query. "
        "It fails to fulfill some aspects of the query but the product can be used as a "
        "functional substitute. Only output yes or no.",
        "Answer yes if the product is a substitute for the query and no otherwise.",
        "Please respond with yes if the product is a suitable substitute for the query, and no if "
        "it is not.",
        "Check if a product can function as a substitute for a given query, even if it doesn't "
        "fully meet all requirements. Output yes if it can or no otherwise.",
        "Assess the relevance of a product to a given query by determining if it can function as a "
        "substitute, despite not fully meeting certain aspects of the query. Provide a binary "
        "output of yes or no based on this evaluation.",
        "Assess whether the product is a substitute for the query and provide a yes or no "
        "response.",
    ),
    # C.8
    "QPR": _t(
        "Given a query and a list of products denoted as A, B, C, ... with their titles, rank the "
        "products according to their relevance to the query. Output only a ranked list in which "
        "the most relevant product is at the top of the list.",
        "Evaluate each product title in the given list, assess its relevance to the given query, "
        "and then arrange the products in descending order of relevance, with the most relevant "
        "product at the top of the ranked list.",
        "Rank the products A, B, C, ... based on their relevance to the provided query, and "
        "produce a ranked list with the most relevant product positioned at the top of the list.",
        "Analyze the query and each product title. Sort the products in descending order based on "
        "their relevance to the query. The most relevant product should be at the top of the "
        "list, and output the ranked list.",
        "Evaluate the relevance of each product title in the input to the given query, and then "
        "sort the products in descending order of relevance, placing the most relevant product at "
        "the top of the ranked list.",
        "Evaluate the query against each product's title, determine the relevance between the "
        "query and the product, and organize the products in descending order of relevance, "
        "ensuring that the product with the highest relevance is positioned at the top of the "
        "list.",
    ),
    # C.9
    "AP": _t(
        "Given a question and the related document, predict if the question is answerable based "
        "on the information provided in the document. Output only yes or no.",
        "Evaluate the answerability of a question by analyzing the related document, outputting "
        "yes if the document contains information addressing the question, and no otherwise.",
        "Analyze a question and its supporting document. Predicting answerability based on the "
        "information provided in the document. Output yes if the document contains relevant "
        "information to answer the question, otherwise output no.",
        "Given a question and its related document, determine if the question is answerable by "
        "analyzing the information in the document. Output yes if the document addresses the "
        "question, or no otherwise.",
        "Output yes if the supporting document can answer the given question. Otherwise, output "
        "no.",
        "Predict whether it is possible to answer the given question using the supporting "
        "document, and output a yes or no response.",
    ),
    # C.10
    "AG": _t(
        "Given a question and the related document, and generate the answer to the question based "
        "on the information provided in the document.",
        "Generate an answer to the question by utilizing the information contained in the "
        "document.",
        "Extract information from the supporting document to answer the given question.",
        "Answer the given question using the supporting document.",
        "Answer the given question by extracting information from the supporting document.",
        "Utilize the information provided in the supporting document to generate an answer to the "
        "given question.",
    ),
}

#: Task code -> :class:`TaskInstructions` (read-only mapping).
INSTRUCTIONS: Mapping[str, TaskInstructions] = MappingProxyType(_DATA)
